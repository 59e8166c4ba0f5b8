package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels up.
const repoRoot = "../.."

// idPattern is what a message id looks like: lower-case words joined by
// dots and underscores, at least one dot.
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// jsCall finds message ids in the playground's scripts: t('id') or
// tr("id", …).
var jsCall = regexp.MustCompile(`\btr?\(\s*['"]([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)['"]`)

// htmlAttr finds message ids in the playground's page: data-t="id",
// data-t-title="id" and the like.
var htmlAttr = regexp.MustCompile(`\bdata-t(?:-[a-z-]+)?="([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)

// jsString finds quoted id-like strings in the scripts (an id looked up
// by hand keeps its entry alive).
var jsString = regexp.MustCompile(`['"]([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)['"]`)

// idArgs are the functions that take message ids, and which of their
// arguments are ids: Printer.T and N, the cards' b.t, httpapi's s.t(c, id),
// cards.ErrorCard, inbox.Refusal, desk.Msg and httpapi's oauthPage.
var idArgs = map[string][]int{
	"T": {0}, "N": {0}, "t": {0, 1}, "ErrorCard": {0, 1}, "Refusal": {0}, "Msg": {0}, "oauthPage": {2, 3},
}

// literalID returns the message id a string literal spells.
func literalID(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil && idPattern.MatchString(s)
}

// usedIDs collects, from every non-test Go file and the playground's
// scripts, the ids passed to a T or N call (which must exist) and every
// string literal that looks like an id (which keeps a catalog entry
// alive: ids are sometimes chosen in a switch and passed on).
func usedIDs(t *testing.T) (called map[string]string, literals map[string]bool) {
	t.Helper()
	called, literals = map[string]string{}, map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != repoRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if n.Kind == token.STRING {
						if s, err := strconv.Unquote(n.Value); err == nil && idPattern.MatchString(s) {
							literals[s] = true
						}
					}
				case *ast.CompositeLit:
					// desk.Message{ID: "…"}
					for _, e := range n.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						if k, isIdent := kv.Key.(*ast.Ident); isIdent && k.Name == "ID" {
							if id, ok := literalID(kv.Value); ok {
								called[id] = fset.Position(kv.Pos()).String()
							}
						}
					}
				case *ast.CallExpr:
					var name string
					switch fn := n.Fun.(type) {
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					case *ast.Ident:
						name = fn.Name
					}
					for _, i := range idArgs[name] {
						if i < len(n.Args) {
							if id, ok := literalID(n.Args[i]); ok {
								called[id] = fset.Position(n.Args[i].Pos()).String()
							}
						}
					}
				}
				return true
			})
		case (strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".html")) && strings.Contains(filepath.ToSlash(path), "internal/playground/static/"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, re := range []*regexp.Regexp{jsCall, htmlAttr} {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					called[m[1]] = path
					literals[m[1]] = true
				}
			}
			for _, m := range jsString.FindAllStringSubmatch(string(b), -1) {
				literals[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return called, literals
}

// TestCatalogsComplete: every id the code words is in every catalog,
// every catalog holds the same ids, and no catalog holds an id nothing
// uses.
func TestCatalogsComplete(t *testing.T) {
	called, literals := usedIDs(t)
	if len(called) < 50 {
		t.Fatalf("found only %d message ids in the code: the scan is broken", len(called))
	}
	cats := map[Lang]map[string]bool{}
	for _, l := range Langs {
		c, err := Catalog(l)
		if err != nil {
			t.Fatal(err)
		}
		cats[l] = c
	}
	for id, where := range called {
		for _, l := range Langs {
			if !cats[l][id] {
				t.Errorf("%s: message %q is missing from the %s catalog", where, id, l)
			}
		}
	}
	for _, l := range Langs {
		var unused []string
		for id := range cats[l] {
			if !literals[id] {
				unused = append(unused, id)
			}
			for _, other := range Langs {
				if !cats[other][id] {
					t.Errorf("message %q is in the %s catalog but not in the %s one", id, l, other)
				}
			}
		}
		slices.Sort(unused)
		for _, id := range unused {
			t.Errorf("the %s catalog holds %q, which nothing uses", l, id)
		}
	}
}
