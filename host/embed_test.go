package host_test

import (
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
)

func TestEmbed(t *testing.T) {
	// Without the page's origin: the script tag and the element alone.
	plain, err := host.Embed{Base: "https://rdv.chu-exemple.fr/", Widget: "booking",
		Attrs: [][2]string{{"establishment", "chu-exemple"}, {"service", ""}, {"lang", "fr"}}}.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if want := `<parcours-booking establishment="chu-exemple" lang="fr"></parcours-booking>`; !strings.Contains(plain, want) || strings.Contains(plain, "<template") {
		t.Errorf("plain markup:\n%s\nwant %s and no frame", plain, want)
	}
	if plain != host.Snippet("https://rdv.chu-exemple.fr", "chu-exemple", "", "fr") {
		t.Errorf("Snippet and Embed differ:\n%s\n%s", plain, host.Snippet("https://rdv.chu-exemple.fr", "chu-exemple", "", "fr"))
	}

	// With it: the frame the loader would make, escaped, in English.
	framed, err := host.Embed{Base: "https://rdv.chu-exemple.fr", Widget: "messages", Page: "https://www.chu-exemple.fr/",
		Attrs: [][2]string{{"establishment", "chu-exemple"}, {"service", `mat"ernite&x`}, {"lang", "en-GB"}},
		Theme: [][2]string{{"primary", "#5b2a86"}}}.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<parcours-messages establishment="chu-exemple" service="mat&#34;ernite&amp;x" lang="en-GB"><template shadowrootmode="open"><iframe`,
		` src="https://rdv.chu-exemple.fr/w/messages?establishment=chu-exemple&amp;service=mat%22ernite%26x&amp;lang=en&amp;parent=https%3A%2F%2Fwww.chu-exemple.fr&amp;theme-primary=%235b2a86"`,
		` title="Messages"`, `referrerpolicy="strict-origin"`, `</iframe></template></parcours-messages>`,
	} {
		if !strings.Contains(framed, want) {
			t.Errorf("framed markup lacks %s:\n%s", want, framed)
		}
	}

	for _, bad := range []host.Embed{
		{Base: "https://rdv.chu-exemple.fr", Widget: "agenda"},
		{Base: "https://rdv.chu-exemple.fr", Widget: "booking", Page: "www.chu-exemple.fr"},
		{Base: "https://rdv.chu-exemple.fr", Widget: "booking", Page: "https://www.chu-exemple.fr/page"},
	} {
		if s, err := bad.HTML(); err == nil {
			t.Errorf("%+v: no error, %s", bad, s)
		}
	}
}
