// Package i18n is what Postfach says, in the user's language and time zone:
// the English and German message catalogs (catalog/*.json, loaded with
// go-i18n), the choice of language from the locale Gmail sends
// (golang.org/x/text/language), and the relative and absolute times the
// screens show.
//
// Every string a screen shows is a message id in both catalogs; a test
// fails when one is missing from either, or when a catalog holds an id
// nothing uses. See the README's "Adding a language".
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Lang is a language Postfach speaks: the base of a BCP 47 tag.
type Lang string

// The languages of the catalogs; English is the fallback.
const (
	English Lang = "en"
	German  Lang = "de"
)

// Langs are the supported languages, the fallback first.
var Langs = []Lang{English, German}

// Valid reports whether l is a supported language.
func (l Lang) Valid() bool {
	for _, s := range Langs {
		if l == s {
			return true
		}
	}
	return false
}

//go:embed catalog/*.json
var catalogFS embed.FS

var (
	loadOnce sync.Once
	bundle   *i18n.Bundle
	ids      map[Lang]map[string]bool
	loadErr  error
	matcher  = newMatcher()
)

// newMatcher matches locales to Langs (the first, English, is the
// fallback).
func newMatcher() language.Matcher {
	tags := make([]language.Tag, len(Langs))
	for i, l := range Langs {
		tags[i] = language.Make(string(l))
	}
	return language.NewMatcher(tags)
}

func load() {
	bundle = i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	ids = map[Lang]map[string]bool{}
	files, err := fs.Glob(catalogFS, "catalog/*.json")
	if err != nil {
		loadErr = err
		return
	}
	for _, f := range files {
		b, err := catalogFS.ReadFile(f)
		if err != nil {
			loadErr = err
			return
		}
		mf, err := bundle.ParseMessageFileBytes(b, path.Base(f))
		if err != nil {
			loadErr = fmt.Errorf("i18n: %s: %w", f, err)
			return
		}
		base, _ := mf.Tag.Base()
		lang := Lang(base.String())
		if ids[lang] == nil {
			ids[lang] = map[string]bool{}
		}
		for _, m := range mf.Messages {
			ids[lang][m.ID] = true
		}
	}
}

// Catalog returns the message ids of a language's catalog (for tests and
// tools).
func Catalog(l Lang) (map[string]bool, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	return ids[l], nil
}

// Match picks the language for a locale as Gmail sends it ("de-AT",
// "en_US", "fr"): German for any German, English for everything else and
// for nothing.
func Match(locale string) Lang {
	locale = strings.ReplaceAll(strings.TrimSpace(locale), "_", "-")
	if locale == "" {
		return English
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return English
	}
	_, i, conf := matcher.Match(tag)
	if conf == language.No {
		return English
	}
	return Langs[i]
}

// Messages returns the raw catalog entries of a language whose ids start
// with one of the prefixes: a template string, or for a plural message an
// object of its forms ("one", "other"). The playground's scripts word
// their chrome with them.
func Messages(l Lang, prefixes ...string) (map[string]any, error) {
	files, err := fs.Glob(catalogFS, "catalog/*."+string(l)+".json")
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, f := range files {
		b, err := catalogFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		for id, v := range m {
			for _, p := range prefixes {
				if strings.HasPrefix(id, p) {
					out[id] = v
				}
			}
		}
	}
	return out, nil
}

// MatchAccept picks the language for an HTTP Accept-Language header, as
// Match does for one locale.
func MatchAccept(header string) Lang {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[i]
}
