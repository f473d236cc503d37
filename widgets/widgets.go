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

// SignInLink is a sign-in button of a widget: who signs in there (patient
// or practitioner), the button's text, and the host's address that starts
// the sign-in (GET /auth/signin?provider=…&return=…). The widget's frame
// (frame.js) opens it in a popup and takes the session when the popup
// completes; without script, it opens in a new tab and returns to the
// widget there.
type SignInLink struct {
	Kind  string    `json:"kind"`  // "patient" or "practitioner"
	Label [2]string `json:"label"` // French, English
	URL   string    `json:"url"`
}

// LabelIn returns the label in lang ("en" or French).
func (l SignInLink) LabelIn(lang string) string {
	if lang == "en" && l.Label[1] != "" {
		return l.Label[1]
	}
	return l.Label[0]
}
