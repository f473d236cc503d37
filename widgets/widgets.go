// Package widgets holds what the Parcours widgets share with the edge host:
// the stylesheet of every widget frame. The widgets themselves live in
// subpackages (booking, …), one vugu component tree each.
package widgets

import _ "embed"

// CSS is the widgets' stylesheet, served by the host under a content hash.
// Hospital pages theme it through --parcours-* custom properties on the
// element (see docs/embedding.md).
//
//go:embed style.css
var CSS []byte
