package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/postfach/postfach/internal/inbox"
)

// TestCountingStoreCountsEveryMethod: countingStore embeds the store, so a
// method added to inbox.Store would pass through uncounted; every method
// must have its own counting wrapper in storecount.go.
func TestCountingStoreCountsEveryMethod(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "storecount.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
			wrapped[fn.Name.Name] = true
		}
	}
	it := reflect.TypeOf((*inbox.Store)(nil)).Elem()
	for i := range it.NumMethod() {
		if m := it.Method(i).Name; !wrapped[m] {
			t.Errorf("countingStore does not count inbox.Store.%s: add a wrapper to storecount.go", m)
		}
	}
}
