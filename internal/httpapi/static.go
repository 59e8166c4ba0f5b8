package httpapi

import _ "embed"

// logoPNG is the add-on's 96×96 logo, served at manifests.PathLogo.
//
//go:embed static/logo-96.png
var logoPNG []byte
