package idp

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/text/language"
)

// cspBase is the Content-Security-Policy of every response: nothing but
// the provider's own style sheet, no script, no framing. The sign-in
// pages add their relying party's origin to form-action (see render).
const cspBase = "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspBase)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

type msgKey = string

const (
	msgCredentials msgKey = "errCredentials"
	msgCode        msgKey = "errCode"
	msgTooMany     msgKey = "errTooMany"
	msgExpired     msgKey = "errExpired"
	msgCSRF        msgKey = "errCSRF"
	msgBadRequest  msgKey = "errBadRequest"
)

var messages = map[string]map[msgKey]string{
	"fr": {
		"loginTitle":   "Connexion",
		"loginIntro":   "Identifiez-vous avec votre adresse e-mail et votre mot de passe.",
		"email":        "Adresse e-mail",
		"password":     "Mot de passe",
		"signIn":       "Se connecter",
		"otpTitle":     "Code de vérification",
		"otpIntro":     "Saisissez le code à 6 chiffres affiché par votre application d'authentification.",
		"otpLabel":     "Code à usage unique (6 chiffres)",
		"verify":       "Valider",
		"errorTitle":   "Connexion impossible",
		"loggedOut":    "Vous êtes déconnecté.",
		"demo":         "Démonstration",
		"demoAccounts": "Comptes fictifs de démonstration. Mot de passe de tous les comptes :",
		"demoCode":     "Code actuel de ce compte :",
		"patient":      "patient",
		"practitioner": "professionnel de santé (code à usage unique)",
		"errorPrefix":  "Erreur :",
		msgCredentials: "Adresse e-mail ou mot de passe incorrect.",
		msgCode:        "Code incorrect ou déjà utilisé.",
		msgTooMany:     "Trop de tentatives. Réessayez dans quelques minutes.",
		msgExpired:     "Cette demande de connexion a expiré ou n'existe pas. Retournez sur le site et recommencez.",
		msgCSRF:        "Le formulaire a expiré. Retournez sur le site et recommencez la connexion.",
		msgBadRequest:  "Requête invalide.",
	},
	"en": {
		"loginTitle":   "Sign in",
		"loginIntro":   "Sign in with your e-mail address and your password.",
		"email":        "E-mail address",
		"password":     "Password",
		"signIn":       "Sign in",
		"otpTitle":     "Verification code",
		"otpIntro":     "Enter the 6-digit code shown by your authenticator app.",
		"otpLabel":     "One-time code (6 digits)",
		"verify":       "Verify",
		"errorTitle":   "Cannot sign in",
		"loggedOut":    "You are signed out.",
		"demo":         "Démonstration (demo)",
		"demoAccounts": "Fictional demo accounts. Password of every account:",
		"demoCode":     "Current code of this account:",
		"patient":      "patient",
		"practitioner": "health professional (one-time code)",
		"errorPrefix":  "Error:",
		msgCredentials: "Incorrect e-mail address or password.",
		msgCode:        "Incorrect or already used code.",
		msgTooMany:     "Too many attempts. Try again in a few minutes.",
		msgExpired:     "This sign-in request has expired or does not exist. Go back to the site and start again.",
		msgCSRF:        "The form has expired. Go back to the site and sign in again.",
		msgBadRequest:  "Invalid request.",
	},
}

type pageKind int

const (
	pageLogin pageKind = iota
	pageOTP
	pageError
	pageLoggedOut
)

type demoAccount struct {
	Name, Email, Kind string
}

type pageData struct {
	Lang     string
	T        map[msgKey]string
	Kind     pageKind
	Title    string
	ID, CSRF string
	Username string
	Error    string
	// Demo hints (Config.DemoHints).
	Demo         bool
	DemoAccounts []demoAccount
	DemoPassword string
	DemoCode     string
}

var langMatcher = language.NewMatcher([]language.Tag{language.French, language.English})

// pageLang picks the page's language: the authorization request's
// ui_locales first, then Accept-Language; French by default.
func pageLang(r *http.Request, a *authRequest) string {
	var tags []language.Tag
	if a != nil {
		tags = append(tags, a.UILocales...)
	}
	if len(tags) == 0 {
		if h := r.Header.Get("Accept-Language"); h != "" && len(h) < 512 {
			tags, _, _ = language.ParseAcceptLanguage(h)
		}
	}
	for _, t := range tags {
		b, _ := t.Base()
		switch b.String() {
		case "fr":
			return "fr"
		case "en":
			return "en"
		}
	}
	return "fr"
}

func (p *Provider) newPage(r *http.Request, a *authRequest, kind pageKind) *pageData {
	lang := pageLang(r, a)
	d := &pageData{Lang: lang, T: messages[lang], Kind: kind}
	switch kind {
	case pageLogin:
		d.Title = d.T["loginTitle"]
	case pageOTP:
		d.Title = d.T["otpTitle"]
	case pageError:
		d.Title = d.T["errorTitle"]
	case pageLoggedOut:
		d.Title = d.T["loggedOut"]
	}
	if p.cfg.DemoHints {
		d.Demo = true
		if kind == pageLogin {
			pw := map[string]bool{}
			for _, u := range p.cfg.Users {
				kind := d.T["patient"]
				if u.Practitioner {
					kind = d.T["practitioner"]
				}
				d.DemoAccounts = append(d.DemoAccounts, demoAccount{
					Name: u.GivenName + " " + u.FamilyName, Email: u.Email, Kind: kind})
				pw[u.Password] = true
			}
			if len(pw) == 1 {
				for k := range pw {
					d.DemoPassword = k
				}
			}
		}
	}
	return d
}

// render writes a page. A sign-in form posts to the provider, which
// answers with a redirect to the relying party: browsers apply
// form-action to the redirects that follow a form submission, so the
// page's policy also allows the origin of this request's (registered)
// redirect URI.
func (p *Provider) render(w http.ResponseWriter, a *authRequest, status int, d *pageData) {
	if a != nil && (d.Kind == pageLogin || d.Kind == pageOTP) {
		if u, err := url.Parse(a.RedirectURI); err == nil && u.Host != "" {
			origin := u.Scheme + "://" + u.Host
			if !strings.ContainsAny(origin, " ;,'\"") {
				w.Header().Set("Content-Security-Policy", cspBase+" "+origin)
			}
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		p.log.Error("idp: rendering a page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<link rel="stylesheet" href="/idp.css">
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- if eq .Kind 0}}
<p>{{index .T "loginIntro"}}</p>
{{- if .Error}}
<p id="form-error" class="error" role="alert" tabindex="-1" autofocus><strong>{{index .T "errorPrefix"}}</strong> {{.Error}}</p>
{{- end}}
<form method="post" action="/login" novalidate>
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p><label for="username">{{index .T "email"}}</label>
<input id="username" name="username" type="email" autocomplete="username" required spellcheck="false" autocapitalize="none" value="{{.Username}}"{{if .Error}} aria-invalid="true" aria-describedby="form-error"{{else}} autofocus{{end}}></p>
<p><label for="password">{{index .T "password"}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-invalid="true" aria-describedby="form-error"{{end}}></p>
<p><button type="submit">{{index .T "signIn"}}</button></p>
</form>
{{- if .Demo}}
<section class="demo" aria-labelledby="demo-title">
<h2 id="demo-title">{{index .T "demo"}}</h2>
<p>{{index .T "demoAccounts"}} <code>{{.DemoPassword}}</code></p>
<ul>
{{- range .DemoAccounts}}
<li>{{.Name}} — <code>{{.Email}}</code> ({{.Kind}})</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- else if eq .Kind 1}}
<p>{{index .T "otpIntro"}}</p>
{{- if .Error}}
<p id="form-error" class="error" role="alert" tabindex="-1" autofocus><strong>{{index .T "errorPrefix"}}</strong> {{.Error}}</p>
{{- end}}
<form method="post" action="/login/otp" novalidate>
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p><label for="code">{{index .T "otpLabel"}}</label>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required{{if .Error}} aria-invalid="true" aria-describedby="form-error"{{else}} autofocus{{end}}></p>
<p><button type="submit">{{index .T "verify"}}</button></p>
</form>
{{- if .DemoCode}}
<section class="demo" aria-labelledby="demo-title">
<h2 id="demo-title">{{index .T "demo"}}</h2>
<p>{{index .T "demoCode"}} <code>{{.DemoCode}}</code></p>
</section>
{{- end}}
{{- else if eq .Kind 2}}
<p id="form-error" class="error" role="alert" tabindex="-1" autofocus>{{.Error}}</p>
{{- end}}
</main>
</body>
</html>
`))

const css = `:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}
body{margin:0;padding:1rem}
main{max-width:32rem;margin:2rem auto}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid currentColor;border-radius:4px}
input:focus,button:focus,.error:focus{outline:3px solid #1d70b8;outline-offset:2px}
button{font:inherit;padding:.5rem 1.25rem;border-radius:4px;border:2px solid #000091;background:#000091;color:#fff;cursor:pointer}
.error{border-left:5px solid #ce0500;padding:.5rem 1rem;color:#ce0500}
.demo{margin-top:2rem;padding:1rem;border:2px dashed #b34000}
.demo h2{margin-top:0;font-size:1.1rem}
code{overflow-wrap:anywhere}
`

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write([]byte(css))
}
