package firestoredb

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postfach/postfach/internal/inbox"
	"github.com/postfach/postfach/internal/inbox/storetest"
)

// TestEraseLeavesNoDocument: after EraseTenant, a recursive listing of
// the store's whole namespace (every collection, every document, missing
// parents included) finds no document whose path or data names the
// erased tenant's domain, and the other tenant's documents are all there.
func TestEraseLeavesNoDocument(t *testing.T) {
	t.Parallel()
	s, _ := MustOpenFresh(t)
	const erased, kept = "erased.example", "kept.example"
	storetest.SeedRichTenant(t, s, erased)
	storetest.SeedRichTenant(t, s, kept)
	before := walk(t, s)
	if !slices.ContainsFunc(before, func(d string) bool { return strings.Contains(d, erased) }) {
		t.Fatalf("the walk finds nothing of %s before the erase: %q", erased, before)
	}
	if err := s.EraseTenant(t.Context(), erased); err != nil {
		t.Fatalf("EraseTenant: %v", err)
	}
	after := walk(t, s)
	for _, d := range after {
		if strings.Contains(d, erased) {
			t.Errorf("left behind: %s", d)
		}
	}
	keep := slices.DeleteFunc(slices.Clone(before), func(d string) bool { return strings.Contains(d, erased) })
	if !slices.Equal(keep, after) {
		t.Errorf("documents of other tenants changed:\nbefore %q\nafter  %q", keep, after)
	}
	if err := s.ExportTenant(t.Context(), erased, inbox.ExportOptions{}, func(inbox.Record) error { return nil }); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("ExportTenant after erase: %v, want ErrNotFound", err)
	}
}

// walk lists every document below the store's root, depth first, as its
// path and data; a missing document that only holds subcollections is
// listed by its path.
func walk(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	var visit func(colls *firestore.CollectionIterator)
	visit = func(colls *firestore.CollectionIterator) {
		for {
			coll, err := colls.Next()
			if errors.Is(err, iterator.Done) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			refs, err := refs(t.Context(), coll)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range refs {
				snap, err := ref.Get(t.Context())
				switch {
				case err == nil:
					out = append(out, fmt.Sprintf("%s %v", strings.TrimPrefix(ref.Path, s.root.Path), snap.Data()))
				case status.Code(err) == codes.NotFound:
					out = append(out, strings.TrimPrefix(ref.Path, s.root.Path)+" (missing)")
				default:
					t.Fatal(err)
				}
				visit(ref.Collections(t.Context()))
			}
		}
	}
	visit(s.root.Collections(t.Context()))
	slices.Sort(out)
	return out
}

// TestMessageIDKeyIsMidHash: exports carry the adapter's Message-ID
// digests as inbox.MessageIDKey; an import from SQLite digests the
// Message-IDs with it, so both must be the same function.
func TestMessageIDKeyIsMidHash(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a@b", "CAF=x+y@mail.gmail.com", "ümlaut@host.example", ""} {
		if got, want := inbox.MessageIDKey(id), midHash(id); got != want {
			t.Errorf("MessageIDKey(%q) = %s, want midHash %s", id, got, want)
		}
	}
}
