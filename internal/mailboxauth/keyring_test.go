package mailboxauth_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/postfach/postfach/internal/mailboxauth"
)

// newKey returns a fresh base64 key.
func newKey(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// MustKeyring parses a keyring spec.
func MustKeyring(tb testing.TB, spec string) *mailboxauth.Keyring {
	tb.Helper()
	k, err := mailboxauth.ParseKeyring(spec)
	if err != nil {
		tb.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestKeyringRoundTrip(t *testing.T) {
	t.Parallel()
	k := MustKeyring(t, "k1:"+newKey(t))
	for _, tc := range []struct {
		name      string
		plaintext []byte
	}{
		{"RefreshToken", []byte("1//0gLAbCdEfGhIjKlMnOpQrStUvWxYz-0123456789")},
		{"Empty", []byte{}},
		{"Binary", bytes.Repeat([]byte{0, 1, 2, 255}, 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aad := []byte("alice@example.com")
			sealed, err := k.Seal(aad, tc.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Open(aad, sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tc.plaintext)
			}
			if id, err := mailboxauth.SealedKeyID(sealed); err != nil || id != "k1" {
				t.Fatalf("SealedKeyID = %q, %v, want k1", id, err)
			}
		})
	}
}

func TestKeyringSealedHidesPlaintext(t *testing.T) {
	t.Parallel()
	k := MustKeyring(t, "k1:"+newKey(t))
	secret := []byte("1//refresh-token-that-must-not-leak")
	a, err := k.Seal([]byte("alice@example.com"), secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Seal([]byte("alice@example.com"), secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, sealed := range [][]byte{a, b} {
		if bytes.Contains(sealed, secret) || bytes.Contains(sealed, secret[4:20]) {
			t.Fatalf("sealed token contains the plaintext: %q", sealed)
		}
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one plaintext are equal; the nonce is not random")
	}
}

func TestKeyringOpenFails(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	k := MustKeyring(t, "k1:"+key)
	aad := []byte("alice@example.com")
	sealed, err := k.Seal(aad, []byte("1//secret"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	headLen := 2 + len("k1")
	for _, tc := range []struct {
		name    string
		keyring *mailboxauth.Keyring
		aad     []byte
		sealed  []byte
		want    error
	}{
		{"WrongKeySameID", MustKeyring(t, "k1:"+newKey(t)), aad, sealed, mailboxauth.ErrSealBroken},
		{"UnknownKeyID", MustKeyring(t, "k2:"+key), aad, sealed, mailboxauth.ErrUnknownKey},
		{"MovedToOtherMailbox", k, []byte("mallory@example.com"), sealed, mailboxauth.ErrSealBroken},
		{"CaseOfAddress", k, []byte("Alice@example.com"), sealed, mailboxauth.ErrSealBroken},
		{"NoAAD", k, nil, sealed, mailboxauth.ErrSealBroken},
		{"TamperedVersion", k, aad, flip(0), mailboxauth.ErrSealBroken},
		{"TamperedNonce", k, aad, flip(headLen), mailboxauth.ErrSealBroken},
		{"TamperedCiphertext", k, aad, flip(headLen + 12), mailboxauth.ErrSealBroken},
		{"TamperedTag", k, aad, flip(len(sealed) - 1), mailboxauth.ErrSealBroken},
		{"Truncated", k, aad, sealed[:len(sealed)-1], mailboxauth.ErrSealBroken},
		{"HeaderOnly", k, aad, sealed[:headLen], mailboxauth.ErrSealBroken},
		{"Empty", k, aad, nil, mailboxauth.ErrSealBroken},
		{"Appended", k, aad, append(bytes.Clone(sealed), 0), mailboxauth.ErrSealBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.keyring.Open(tc.aad, tc.sealed)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want error %v", got, err, tc.want)
			}
			if got != nil {
				t.Fatalf("Open returned plaintext %q with an error", got)
			}
		})
	}
}

// TestKeyringKeyIDIsAuthenticated: relabelling a token with another key id
// of the same key does not open it.
func TestKeyringKeyIDIsAuthenticated(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	k := MustKeyring(t, "aa:"+key+",bb:"+key)
	aad := []byte("alice@example.com")
	sealed, err := k.Seal(aad, []byte("1//secret"))
	if err != nil {
		t.Fatal(err)
	}
	relabelled := bytes.Clone(sealed)
	copy(relabelled[2:4], "bb")
	if _, err := k.Open(aad, relabelled); !errors.Is(err, mailboxauth.ErrSealBroken) {
		t.Fatalf("Open(relabelled) error = %v, want ErrSealBroken", err)
	}
}

func TestKeyringRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKeyB64 := newKey(t), newKey(t)
	aad := []byte("alice@example.com")
	secret := []byte("1//secret")

	before := MustKeyring(t, "old:"+oldKey)
	sealedOld, err := before.Seal(aad, secret)
	if err != nil {
		t.Fatal(err)
	}

	// Step 1: the new key goes first, the old one stays.
	during := MustKeyring(t, "new:"+newKeyB64+", old:"+oldKey)
	if got, want := during.Primary(), "new"; got != want {
		t.Fatalf("Primary = %q, want %q", got, want)
	}
	if got, err := during.Open(aad, sealedOld); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("old token under the rotated keyring: %q, %v", got, err)
	}
	resealed, err := during.Reseal(aad, sealedOld)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := mailboxauth.SealedKeyID(resealed); id != "new" {
		t.Fatalf("resealed under %q, want new", id)
	}
	again, err := during.Reseal(aad, resealed)
	if err != nil || !bytes.Equal(again, resealed) {
		t.Fatalf("Reseal of a token under the primary key changed it (%v)", err)
	}
	if _, err := during.Reseal([]byte("mallory@example.com"), sealedOld); !errors.Is(err, mailboxauth.ErrSealBroken) {
		t.Fatalf("Reseal for another mailbox: %v, want ErrSealBroken", err)
	}

	// Step 2: the old key is dropped.
	after := MustKeyring(t, "new:"+newKeyB64)
	if got, err := after.Open(aad, resealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("resealed token after dropping the old key: %q, %v", got, err)
	}
	if _, err := after.Open(aad, sealedOld); !errors.Is(err, mailboxauth.ErrUnknownKey) {
		t.Fatalf("old token after dropping the old key: %v, want ErrUnknownKey", err)
	}
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	raw, _ := base64.StdEncoding.DecodeString(key)
	for _, tc := range []struct {
		name    string
		spec    string
		primary string
		ids     []string
	}{
		{"One", "k1:" + key, "k1", []string{"k1"}},
		{"Two", "k2:" + newKey(t) + ",k1:" + key, "k2", []string{"k2", "k1"}},
		{"Spaces", " 2026-01.a : " + key + " ,\n", "2026-01.a", []string{"2026-01.a"}},
		{"URLBase64Unpadded", "k1:" + base64.RawURLEncoding.EncodeToString(raw), "k1", []string{"k1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := mailboxauth.ParseKeyring(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Primary(); got != tc.primary {
				t.Errorf("Primary = %q, want %q", got, tc.primary)
			}
			if got := strings.Join(k.KeyIDs(), ","); got != strings.Join(tc.ids, ",") {
				t.Errorf("KeyIDs = %s, want %v", got, tc.ids)
			}
		})
	}
}

func TestParseKeyringErrors(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	for _, tc := range []struct {
		name string
		spec string
	}{
		{"Empty", ""},
		{"OnlyCommas", " , ,"},
		{"NoID", ":" + key},
		{"NoColon", key},
		{"BadIDChars", "k/1:" + key},
		{"LongID", strings.Repeat("k", 65) + ":" + key},
		{"ShortKey", "k1:" + short},
		{"NotBase64", "k1:" + strings.Repeat("*", 44)},
		{"DuplicateID", "k1:" + key + ",k1:" + newKey(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := mailboxauth.ParseKeyring(tc.spec)
			if !errors.Is(err, mailboxauth.ErrKeyring) {
				t.Fatalf("ParseKeyring = %v, %v; want ErrKeyring", k, err)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), short) {
				t.Fatalf("error %q shows key material", err)
			}
		})
	}
}

func TestKeyringPrintsNoKeys(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	k := MustKeyring(t, "k1:"+key)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, key) || !strings.Contains(s, "k1") {
			t.Fatalf("printed keyring = %q", s)
		}
	}
}
