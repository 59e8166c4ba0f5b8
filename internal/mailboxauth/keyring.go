package mailboxauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Keyring errors.
var (
	// ErrKeyring: the key configuration is unusable. The message names the
	// entry at fault, never key material.
	ErrKeyring = errors.New("token keyring")
	// ErrUnknownKey: a sealed token names a key the keyring does not hold
	// (it was removed from the configuration too early).
	ErrUnknownKey = errors.New("sealed token: key not in keyring")
	// ErrSealBroken: a sealed token does not open: it was sealed for
	// another mailbox, changed, truncated, or the key with its id is not
	// the key that sealed it.
	ErrSealBroken = errors.New("sealed token does not open")
)

const (
	sealVersion = 1
	keySize     = 32 // AES-256
	maxKeyID    = 64
)

// Keyring seals refresh tokens with AES-256-GCM. It holds one or more keys,
// each with an id; the first is the primary, which seals, and every key
// opens what it sealed, so a key is rotated by putting a new one first,
// resealing (Reseal) what the old one sealed, then dropping the old one.
// A Keyring is safe for concurrent use.
//
// A sealed token is
//
//	version (1 byte, 1) | len(key id) (1 byte) | key id | nonce (12 bytes) | ciphertext and tag
//
// and its additional authenticated data are the version, the key id and the
// caller's aad (the mailbox address), so a token sealed for one mailbox
// does not open for another and its key id cannot be swapped.
type Keyring struct {
	primary string
	ids     []string // in configuration order
	aeads   map[string]cipher.AEAD
}

// ParseKeyring reads a keyring configuration: comma-separated
// "id:base64key" entries, the first being the primary. Ids are 1 to 64
// letters, digits, '-', '_' or '.'; keys are 32 random bytes in standard
// or URL base64, padded or not (`head -c 32 /dev/urandom | base64`).
// Whitespace around entries is ignored.
func ParseKeyring(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, b64, ok := strings.Cut(entry, ":")
		id = strings.TrimSpace(id)
		if !ok || !validKeyID(id) {
			return nil, fmt.Errorf("%w: entry %d: want id:base64key with an id of letters, digits, '-', '_' or '.'", ErrKeyring, i+1)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%w: key id %q listed twice", ErrKeyring, id)
		}
		key, err := decodeKey(strings.TrimSpace(b64))
		if err != nil || len(key) != keySize {
			return nil, fmt.Errorf("%w: key %q: want %d bytes in base64", ErrKeyring, id, keySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyring, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrKeyring, id, err)
		}
		clear(key)
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%w: no keys configured", ErrKeyring)
	}
	k.primary = k.ids[0]
	return k, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyID {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// Primary returns the id of the key that seals.
func (k *Keyring) Primary() string { return k.primary }

// KeyIDs returns the ids of the keyring's keys, the primary first.
func (k *Keyring) KeyIDs() []string { return slices.Clone(k.ids) }

// String names the keys, never their material.
func (k *Keyring) String() string {
	return fmt.Sprintf("Keyring{primary %s, keys %s}", k.primary, strings.Join(k.ids, ","))
}

// GoString is String, so that %#v prints no key material either.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext under the primary key, bound to aad (the mailbox
// address).
func (k *Keyring) Seal(aad, plaintext []byte) ([]byte, error) {
	aead := k.aeads[k.primary]
	head := header(k.primary)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, 0, len(head)+len(nonce)+len(plaintext)+aead.Overhead())
	out = append(append(out, head...), nonce...)
	return aead.Seal(out, nonce, plaintext, additional(head, aad)), nil
}

// Open decrypts a token sealed by Seal with the same aad. It fails with
// ErrUnknownKey if the keyring lacks the token's key, and with
// ErrSealBroken if the token was sealed for another aad, was changed, or
// does not parse.
func (k *Keyring) Open(aad, sealed []byte) ([]byte, error) {
	id, rest, err := splitSealed(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrSealBroken)
	}
	nonce, ct := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, additional(header(id), aad))
	if err != nil {
		return nil, ErrSealBroken
	}
	return pt, nil
}

// Reseal re-encrypts a sealed token under the primary key. A token already
// sealed under the primary key is returned as is, after checking that it
// opens; compare with bytes.Equal to skip the write.
func (k *Keyring) Reseal(aad, sealed []byte) ([]byte, error) {
	pt, err := k.Open(aad, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if id, _ := SealedKeyID(sealed); id == k.primary {
		return sealed, nil
	}
	return k.Seal(aad, pt)
}

// SealedKeyID returns the id of the key that sealed a token, without
// opening it.
func SealedKeyID(sealed []byte) (string, error) {
	id, _, err := splitSealed(sealed)
	return id, err
}

func header(id string) []byte {
	return append([]byte{sealVersion, byte(len(id))}, id...)
}

// additional is the AEAD's additional data: the header, then aad. The
// header carries its own length, so the concatenation is unambiguous.
func additional(head, aad []byte) []byte {
	return append(slices.Clip(head), aad...)
}

func splitSealed(sealed []byte) (id string, rest []byte, err error) {
	if len(sealed) < 2 {
		return "", nil, fmt.Errorf("%w: too short", ErrSealBroken)
	}
	if sealed[0] != sealVersion {
		return "", nil, fmt.Errorf("%w: unknown version %d", ErrSealBroken, sealed[0])
	}
	n := int(sealed[1])
	if n == 0 || len(sealed) < 2+n {
		return "", nil, fmt.Errorf("%w: bad key id", ErrSealBroken)
	}
	return string(sealed[2 : 2+n]), sealed[2+n:], nil
}
