package host

import (
	"strings"
	"testing"
)

func TestSafeURL(t *testing.T) {
	for u, want := range map[string]string{
		"https://hopital.example/rdv":    "https://hopital.example/rdv",
		"http://127.0.0.1:8081/":         "http://127.0.0.1:8081/",
		"/demo/":                         "/demo/",
		"mailto:accueil@hopital.example": "mailto:accueil@hopital.example",
		"javascript:alert(1)":            "#",
		"JavaScript:alert(1)":            "#",
		"data:text/html,<script>":        "#",
		"vbscript:x":                     "#",
		"%zz":                            "#",
	} {
		if got := safeURL(u); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", u, got, want)
		}
	}
}

// The host's pages escape what they are given: a link's text and address,
// a snippet, a sign-in message.
func TestPagesEscape(t *testing.T) {
	home := homePage("/a/parcours.1.css", []Link{{Text: `<b>Démo</b> & "co"`, URL: `javascript:alert(1)`}, {Text: "Hôpital", URL: `/x?a=1&b="2"`}},
		`<script src="x"></script>`, `<parcours-questionnaire>`)
	for _, want := range []string{
		`<a href="#">&lt;b&gt;Démo&lt;/b&gt; &amp; &#34;co&#34;</a>`,
		`<a href="/x?a=1&amp;b=&#34;2&#34;">Hôpital</a>`,
		`<pre><code>&lt;script src=&#34;x&#34;&gt;&lt;/script&gt;</code></pre>`,
		`<link rel="stylesheet" href="/a/parcours.1.css">`,
	} {
		if !strings.Contains(home, want) {
			t.Errorf("home page without %s:\n%s", want, home)
		}
	}
	if strings.Contains(home, "<b>") || strings.Contains(home, "javascript:") {
		t.Errorf("home page let markup or a script address through:\n%s", home)
	}
	done := signInHTML("fr", "Connexion", "C'est <fait>", true)
	if !strings.Contains(done, `<p role="status" data-parcours-signed-in>C&#39;est &lt;fait&gt;</p>`) || !strings.Contains(done, `<script src="/auth/signin.js" defer></script>`) {
		t.Errorf("sign-in page, done:\n%s", done)
	}
	failed := signInHTML("en", "Sign-in", "No", false)
	if !strings.Contains(failed, `<p role="alert">No</p>`) || strings.Contains(failed, "signin.js") || !strings.Contains(failed, `<html lang="en">`) {
		t.Errorf("sign-in page, refused:\n%s", failed)
	}
}
