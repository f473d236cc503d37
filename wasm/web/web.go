// Package web holds the browser files of Parcours that are not Go: the
// loader hospital pages include (parcours.js), the widget frame's bootstrap
// (frame.js), the worker that compiles the Wasm off the frame's main thread
// (compile.js) and vugu's DOM helper as a static script (vugu-helper.js,
// generated). The edge host embeds them.
package web

import (
	"embed"
	_ "embed"
)

//go:generate go run ../internal/genhelper vugu-helper.js

// Loader is parcours.js, the loader hospital pages include with SRI.
//
//go:embed parcours.js
var Loader []byte

// Files holds frame.js, compile.js and vugu-helper.js.
//
//go:embed frame.js compile.js vugu-helper.js
var Files embed.FS
