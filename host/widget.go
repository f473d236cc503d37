package host

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/staticrender"

	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/access"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
	"github.com/parcours-sante/parcours/widgets/vdom"
)

// widgetSpec describes one widget the host serves at /w/{name}.
type widgetSpec struct {
	title [2]string // fr, en
	// merged: without an establishment, the widget covers every
	// establishment the host serves (a regional portal's page).
	merged bool
	// render returns the widget's root component to render on the server,
	// the state handed to the browser so that it starts from the same
	// screen (nil: the browser loads it), and the widget events produced
	// (by a form post) for the host page.
	render func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent)
	// files, for a widget whose form posts may be multipart with files
	// (a message's, an upload's), bounds their size and count; spend
	// takes the rate-limit token of such a post from its author, before
	// its body is read (as the API does).
	files func(h *Host) (perFile int64, count int)
	spend func(ctx context.Context, h *Host, a portal.Author) error
	// saved, for a widget whose frame saves in the background (a form post
	// of the action "save", before the Wasm runs), answers such a post
	// without a document, given the post and the state render returned;
	// nil: "save" is an ordinary action.
	saved func(w http.ResponseWriter, post url.Values, state any)
}

// renderParams are a widget document's request, validated.
type renderParams struct {
	now       func() time.Time
	lang, est string
	action    string     // the address the widget's form posts to
	booking   string     // the booking widget's address, for links to it
	query     url.Values // the document's query
	post      url.Values // the form post, nil for a GET
	// files are a multipart form post's files (a message's, an upload),
	// by field name.
	files map[string][]postedPart
	// signIn are the sign-in buttons (Config.IdentityProviders), of
	// patients and practitioners, returning to this document; nil without
	// identity providers.
	signIn []widgets.SignInLink
}

var widgetSpecs = map[string]widgetSpec{
	"booking": {
		title:  [2]string{"Prise de rendez-vous", "Appointment booking"},
		merged: true,
		render: func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent) {
			newModel := func() *booking.Model {
				m := booking.NewModel(p.lang, p.est, p.query.Get("service"), p.query.Get("practitioner"))
				m.SignIn = p.signIn // the widget shows the patients' ones
				return m
			}
			m := newModel()
			m.Now = p.now
			var snap *booking.Snapshot
			if p.post == nil {
				snap = booking.Preload(ctx, m, b)
			} else {
				st, err := booking.ParseFormState(p.post.Get("state"))
				if err != nil {
					st = booking.FormState{} // a tampered or stale form: start over
				}
				snap = booking.Serve(ctx, m, b, booking.Post{
					State: st, Action: p.post.Get("a"), Practitioner: p.post.Get("practitioner"), DemoPatient: p.post.Get("demo"),
				})
			}
			if snap == nil {
				// The backend could not answer: serve the loading state;
				// the browser loads and shows the error with a retry.
				return &booking.Booking{M: newModel(), Action: p.action}, nil, nil
			}
			var events []frameEvent
			for _, e := range m.Events {
				events = append(events, frameEvent{Name: e.Name, Detail: map[string]string{
					"appointment": e.Appointment, "start": e.Start.Format(time.RFC3339),
				}})
			}
			m.Events = nil
			return &booking.Booking{M: m, Backend: b, Action: p.action}, snap, events
		},
	},
	"questionnaire": {
		title: [2]string{"Questionnaire", "Questionnaire"},
		render: func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent) {
			newModel := func() *questionnaire.Model {
				m := questionnaire.NewModel(p.lang, p.est, p.query.Get("questionnaire"))
				m.Now = p.now
				m.SignIn = p.signIn // the widget shows the patients' ones
				return m
			}
			m := newModel()
			var snap *questionnaire.Snapshot
			if p.post == nil {
				snap = questionnaire.Preload(ctx, m, b)
			} else {
				st, err := questionnaire.ParseFormState(p.post.Get("state"))
				if err != nil {
					st = questionnaire.FormState{}
				}
				snap = questionnaire.Serve(ctx, m, b, questionnaire.Post{State: st, Action: p.post.Get("a"), Form: p.post})
			}
			if snap == nil {
				return &questionnaire.Questionnaire{M: newModel(), Action: p.action, BookingURL: p.booking}, nil, nil
			}
			var events []frameEvent
			for _, e := range m.Events {
				events = append(events, frameEvent{Name: e.Name, Detail: map[string]string{
					"questionnaire": e.Questionnaire, "response": e.Response,
				}})
			}
			m.Events = nil
			return &questionnaire.Questionnaire{M: m, Backend: b, Action: p.action, BookingURL: p.booking}, snap, events
		},
		saved: func(w http.ResponseWriter, post url.Values, state any) {
			st, err := questionnaire.ParseFormState(post.Get("state"))
			if err != nil {
				w.WriteHeader(http.StatusConflict) // a tampered or stale form: the render started over
				return
			}
			snap, _ := state.(*questionnaire.Snapshot)
			status := questionnaire.SaveStatus(st, snap)
			if status == http.StatusNoContent && !snap.DraftSaved.IsZero() {
				// The draft's new time, for the state the Wasm starts
				// from: a draft it did not save would otherwise look saved
				// elsewhere (in another tab) when the session is re-read.
				w.Header().Set("Parcours-Draft-Saved", snap.DraftSaved.Format(time.RFC3339Nano))
			}
			w.WriteHeader(status)
		},
	},
	"messages": messagingSpec(messaging.Patient, [2]string{"Messagerie", "Messages"}),
	"inbox":    messagingSpec(messaging.CareTeam, [2]string{"Messages des patients", "Patient messages"}),
	"documents": {
		title:  [2]string{"Documents et résultats", "Documents and results"},
		merged: true,
		// The first screen (the list, or the sign-in) is preloaded. Before
		// the Wasm runs, opening a document or a trend, going back, a
		// patient's upload and a practitioner's release are form posts
		// (documents.Serve); the other controls need the Wasm.
		render: func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent) {
			newModel := func() *documents.Model {
				m := documents.NewModel(p.lang, p.est)
				m.Now = p.now
				m.SignIn = p.signIn // patients' and practitioners'
				if b.h.cfg.Documents != nil {
					m.MaxDocument = maxDocumentSize(b.h.cfg.Documents)
				}
				return m
			}
			m := newModel()
			var snap *documents.Snapshot
			if p.post == nil {
				m.FormUpload = documents.NewClientID() // the upload form's
				snap = documents.Preload(ctx, m, b)
			} else {
				snap = documents.Serve(ctx, m, b, documents.Post{
					Action: p.post.Get("a"), Person: p.post.Get("person"),
					Title: p.post.Get("title"), Service: p.post.Get("service"), Client: p.post.Get("client"),
					File: postedFile(p.files["file"]), NextClient: documents.NewClientID(), Demo: p.post.Get("demo"),
					Filters: p.post.Get("filters") == "1", Type: p.post.Get("type"), Search: p.post.Get("q"), Held: p.post.Get("held") == "true",
				})
			}
			if snap == nil {
				return &documents.Documents{M: newModel(), Action: p.action}, nil, nil
			}
			var events []frameEvent
			for _, e := range m.Events {
				events = append(events, frameEvent{Name: e.Name, Detail: map[string]string{"document": e.Document}})
			}
			m.Events = nil
			return &documents.Documents{M: m, Backend: b, Action: p.action}, snap, events
		},
		files: func(h *Host) (int64, int) { return maxDocumentSize(h.cfg.Documents), 1 },
		spend: func(ctx context.Context, h *Host, a portal.Author) error { return h.spendUpload(ctx, a) },
	},
	"access": {
		title:  [2]string{"Accès à mon dossier", "Access to my record"},
		merged: true,
		// The first screen (the patient's log and grants, the sign-in, or
		// a practitioner's note) is preloaded. Before the Wasm runs, its
		// buttons are form posts (access.Serve): a look-up, a grant, a
		// revocation, a page of the log, a sign-in or out.
		render: func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent) {
			newModel := func() *access.Model {
				m := access.NewModel(p.lang, p.est)
				m.SignIn = p.signIn // the widget shows the patients' ones
				return m
			}
			m := newModel()
			var snap *access.Snapshot
			if p.post == nil {
				snap = access.Preload(ctx, m, b)
			} else {
				st, err := access.ParseFormState(p.post.Get("state"))
				if err != nil {
					st = access.FormState{} // a tampered or stale form: the first screen
				}
				snap = access.Serve(ctx, m, b, access.Post{
					State: st, Action: p.post.Get("a"),
					RPPS: p.post.Get("rpps"), Establishment: p.post.Get("est"), DemoPatient: p.post.Get("demo"),
				})
			}
			if snap == nil {
				return &access.Access{M: newModel(), Action: p.action}, nil, nil
			}
			var events []frameEvent
			for _, e := range m.Events {
				events = append(events, frameEvent{Name: e.Name, Detail: map[string]string{"grant": e.Grant}})
			}
			m.Events = nil
			return &access.Access{M: m, Backend: b, Action: p.action}, snap, events
		},
	},
}

// messagingSpec is the spec of a messaging widget: the first screen (the
// threads, or the sign-in) is preloaded. Before the Wasm runs, opening a
// thread and going back are form posts (messaging.Serve); the other
// controls need the Wasm.
func messagingSpec(side messaging.Side, title [2]string) widgetSpec {
	return widgetSpec{
		title:  title,
		merged: true,
		render: func(ctx context.Context, b *serverBackend, p renderParams) (vugu.Builder, any, []frameEvent) {
			newModel := func() *messaging.Model {
				m := messaging.NewModel(side, p.lang, p.est, p.query.Get("service"))
				m.Now = p.now
				m.SignIn = p.signIn // the widget shows its side's ones
				m.MaxAttachment = maxAttachmentSize(b.h.cfg.Messaging)
				return m
			}
			m := newModel()
			var snap *messaging.Snapshot
			if p.post == nil {
				m.FormClient = messaging.NewClientID() // the composer's form's
				snap = messaging.Preload(ctx, m, b)
			} else {
				snap = messaging.Serve(ctx, m, b, messaging.Post{
					Action: p.post.Get("a"), Body: p.post.Get("body"), Subject: p.post.Get("subject"), Service: p.post.Get("service"),
					Files: postedFiles(p.files["files"]), Client: p.post.Get("client"), Person: p.post.Get("person"),
					NextClient: messaging.NewClientID(), Demo: p.post.Get("demo"), Status: p.post.Get("status"),
				})
			}
			if snap == nil {
				return &messaging.Messaging{M: newModel(), Action: p.action}, nil, nil
			}
			var events []frameEvent
			for _, e := range m.Events {
				events = append(events, frameEvent{Name: e.Name, Detail: map[string]string{"thread": e.Thread, "message": e.Message}})
			}
			m.Events = nil
			return &messaging.Messaging{M: m, Backend: b, Action: p.action}, snap, events
		},
		files: func(h *Host) (int64, int) { return maxAttachmentSize(h.cfg.Messaging), portal.MaxAttachments },
		spend: func(ctx context.Context, h *Host, a portal.Author) error { return h.spendMessage(ctx, a) },
	}
}

// postedFile is an upload form's posted file for the documents widget,
// which checks it as a file chosen in the browser (a file over the limit
// has its size and no content); nil for none.
func postedFile(parts []postedPart) *documents.File {
	if len(parts) == 0 {
		return nil
	}
	return &documents.File{Name: parts[0].Name, Size: parts[0].Size, Content: parts[0].Content}
}

// postedFiles are a composer's posted files for the messaging widget,
// which checks them as files chosen in the browser.
func postedFiles(parts []postedPart) []messaging.File {
	var out []messaging.File
	for _, p := range parts {
		out = append(out, messaging.File{Name: p.Name, Size: p.Size, Content: p.Content, OverCount: p.OverCount})
	}
	return out
}

// frameEvent is a widget event as frame.js relays it to the host page:
// a name and a few strings, never health data.
type frameEvent struct {
	Name   string            `json:"name"`
	Detail map[string]string `json:"detail"`
}

// PreloadTimeout bounds the backend calls behind a widget document (its
// preload, or a form post); past it the document is served with the loading
// skeleton.
const PreloadTimeout = 2 * time.Second

// PostTimeout bounds the backend calls behind a widget's form post: the
// time the Wasm gives a call (a grant checked against a remote directory,
// a message with its files); past it the post's own screen says so where
// it can (a message not confirmed stays in the composer).
const PostTimeout = 30 * time.Second

// ThemeKeys are the theme custom properties a page may pass (as
// theme-<key> query parameters) to a widget frame.
var ThemeKeys = []string{"primary", "on-primary", "background", "surface", "text", "error", "font", "radius"}

// themeValue accepts colours, lengths and font lists; nothing that could
// close the declaration or the style element.
var themeValue = regexp.MustCompile(`^[a-zA-Z0-9 #(),.%"'_-]{1,100}$`)

// themeFunc finds the CSS functions (and bare parentheses) of a theme value.
var themeFunc = regexp.MustCompile(`([a-zA-Z0-9_-]*)\(`)

// themeFuncs are the CSS functions a theme value may call: colours and
// arithmetic. Those that take a URL (url(), src(), image-set() …) are not
// among them: a theme must never make the frame fetch anything.
var themeFuncs = map[string]bool{
	"rgb": true, "rgba": true, "hsl": true, "hsla": true, "hwb": true, "lab": true, "lch": true,
	"oklab": true, "oklch": true, "color": true, "color-mix": true,
	"calc": true, "min": true, "max": true, "clamp": true, "var": true,
}

// safeThemeValue reports whether v is a plain colour, length or font list:
// allowed characters, balanced quotes and parentheses (an open string or
// block would swallow the declarations after it) and allowed functions only.
func safeThemeValue(v string) bool {
	if !themeValue.MatchString(v) || strings.Contains(v, "/*") {
		return false
	}
	depth, quote := 0, byte(0)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	if quote != 0 || depth != 0 {
		return false
	}
	for _, m := range themeFunc.FindAllStringSubmatch(v, -1) {
		if !themeFuncs[strings.ToLower(m[1])] {
			return false
		}
	}
	return true
}

// CheckTheme reports why value cannot be the theme property key (one of
// ThemeKeys) of an establishment's theme, or nil.
func CheckTheme(key, value string) error {
	if !slices.Contains(ThemeKeys, key) {
		return fmt.Errorf("%q is not a theme property (%s)", key, strings.Join(ThemeKeys, ", "))
	}
	if !safeThemeValue(value) {
		return fmt.Errorf("%q is not a plain CSS colour, length or font list", value)
	}
	return nil
}

// withTheme returns q with the establishment's default theme for the keys
// q does not set.
func (h *Host) withTheme(est string, q url.Values) url.Values {
	theme := h.themes[est]
	if len(theme) == 0 {
		return q
	}
	out := url.Values{}
	for k, v := range theme {
		out.Set("theme-"+k, v)
	}
	for k, vs := range q {
		if strings.HasPrefix(k, "theme-") && strings.TrimSpace(q.Get(k)) == "" {
			continue
		}
		out[k] = vs
	}
	return out
}

// ThemeCSS returns the :root declarations for the theme parameters of q,
// dropping any value that is not a plain CSS colour, length or font list.
func ThemeCSS(q url.Values) string {
	var b strings.Builder
	for _, k := range ThemeKeys {
		v := strings.TrimSpace(q.Get("theme-" + k))
		if v == "" || !safeThemeValue(v) {
			continue
		}
		fmt.Fprintf(&b, "--parcours-%s:%s;", k, v)
	}
	if b.Len() == 0 {
		return ""
	}
	return ":root{" + b.String() + "}"
}

// widgetPage writes a widget's document: the first screen rendered on the
// server, the inline stylesheet under the nonce, the state the Wasm takes
// over, and the scripts.
type widgetPage struct {
	Lang, Widget, Establishment, Service, Practitioner, Questionnaire string
	Parent, Title, Nonce                                              string
	// Style is the widgets' stylesheet and the page's theme (ThemeCSS
	// keeps to declarations that cannot end the style element).
	Style string
	// FirstPaint is the widget's HTML from staticrender, which escapes
	// text and attributes.
	FirstPaint string
	// State and Events are JSON with <, > and & escaped, so they cannot
	// end their script element.
	State, Events                           string
	Helper, Frame, Wasm, WasmExec, Compiler string
}

func (d widgetPage) html() string {
	var p page
	p.raw("<!DOCTYPE html>\n<html")
	p.attr("lang", d.Lang)
	p.attr("data-widget", d.Widget)
	p.attr("data-establishment", d.Establishment)
	p.attr("data-service", d.Service)
	p.attr("data-practitioner", d.Practitioner)
	p.attr("data-questionnaire", d.Questionnaire)
	p.attr("data-lang", d.Lang)
	if d.Parent != "" {
		p.attr("data-parent-origin", d.Parent)
	}
	p.raw(">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"strict-origin\">\n<title>")
	p.text(d.Title)
	p.raw("</title>\n<style")
	p.attr("nonce", d.Nonce)
	p.raw(">", d.Style, "</style>\n")
	if d.Wasm != "" {
		p.raw("<script")
		p.attr("src", d.Helper)
		p.raw(" defer></script>\n<script")
		p.attr("src", d.WasmExec)
		p.raw(" defer></script>\n")
	}
	p.raw("<script")
	p.attr("src", d.Frame)
	p.raw(" defer")
	if d.Wasm != "" {
		p.attr("data-wasm", d.Wasm)
		p.attr("data-compiler", d.Compiler)
	}
	p.raw("></script>\n</head>\n<body>\n", d.FirstPaint, "\n")
	if d.State != "" {
		p.raw(`<script type="application/json" id="parcours-state">`, d.State, "</script>\n")
	}
	if d.Events != "" {
		p.raw(`<script type="application/json" id="parcours-events">`, d.Events, "</script>\n")
	}
	p.raw("</body>\n</html>\n")
	return p.String()
}

// widgetDocument serves GET /w/{widget}: the document of a widget's
// iframe, with the widget's first screen rendered on the server, and POST
// /w/{widget}: a form post of that server-rendered widget (before its Wasm
// runs, or where WebAssembly is blocked), answered with the next screen
// rendered by the same state machine.
func (h *Host) widgetDocument(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("widget")
	spec, ok := widgetSpecs[name]
	q := r.URL.Query()
	lang := requestLang(r)
	est := q.Get("establishment")
	if !ok || !(h.serves(est) || est == "" && spec.merged) {
		h.widgetError(w, r, http.StatusNotFound, lang)
		return
	}
	// The parent origin is where widget messages go. It must be one of the
	// establishment's embedding origins; otherwise no message is sent.
	parent := ""
	if p := q.Get("parent"); p != "" {
		if norm, err := NormalizeOrigin(p); err == nil && slices.Contains(h.embedders(est), norm) {
			parent = norm
		}
	}
	r, err := h.withSubject(r)
	if err != nil {
		h.log.Error("widget document: session store unavailable", "widget", name, "err", err)
		h.widgetError(w, r, http.StatusServiceUnavailable, lang)
		return
	}
	_, signedIn := sessionSubject(r.Context())
	var (
		post    url.Values
		files   map[string][]postedPart
		prepaid bool
	)
	// A signed-in person's widget document shows their data (or a
	// patient's): it is audited, as the API is; so is a sign-in by a form
	// post, and a post refused before it is read.
	rec := &auditRecord{op: "widget." + name, action: portal.AuditRead, est: est}
	if r.Method == http.MethodPost {
		rec.action = portal.AuditExecute
	}
	audited := signedIn
	sw, done := h.auditing(w, r, rec)
	w = sw
	defer func() {
		if audited {
			done()
		}
	}()
	// What a post does names its entity, as in the API (a grant).
	r = r.WithContext(context.WithValue(r.Context(), auditKey{}, rec))
	if r.Method == http.MethodPost {
		// A questionnaire's step may carry long free-text answers: its form
		// posts may be as large as a response.
		limit := max(h.cfg.MaxBodyBytes, portal.MaxQuestionnaireResponse)
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case mt == "multipart/form-data" && spec.files != nil && signedIn:
			// A message with its files, or an upload, read as a stream
			// (readMultipartPost): never more in memory than the files
			// within their limits and the form's fields, nothing on disk.
			// Read for a signed-in person only, once their token for it
			// is spent, as the API spends it before reading.
			a, _ := portal.RequireAuthor(r.Context())
			if err = spec.spend(r.Context(), h, a); err != nil {
				h.widgetError(w, r, http.StatusTooManyRequests, lang)
				return
			}
			prepaid = true
			perFile, count := spec.files(h)
			var fields url.Values
			if fields, files, err = readMultipartPost(w, r, perFile, count); err == nil {
				r.PostForm = fields
			}
			if errors.As(err, new(*http.MaxBytesError)) {
				h.widgetError(w, r, http.StatusRequestEntityTooLarge, lang)
				return
			}
		case mt == "multipart/form-data" && spec.files != nil:
			// Unread: the session has ended (or there never was one).
			h.widgetError(w, r, http.StatusUnauthorized, lang)
			return
		case mt == "multipart/form-data":
			err = errors.New("no files expected")
		default:
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			err = r.ParseForm()
		}
		if err != nil {
			h.log.Warn("widget form post refused", "widget", name, "err", err)
			h.widgetError(w, r, http.StatusBadRequest, lang)
			return
		}
		post = r.PostForm
	}
	if post != nil {
		verb, _, _ := strings.Cut(post.Get("a"), ":")
		rec.op += "." + truncate(verb, 40)
		rec.action = cmp.Or(widgetPostActions[name+"."+verb], portal.AuditExecute)
		audited = audited || verb == "sign-in"
	}
	timeout := PreloadTimeout
	if post != nil {
		// A press the person waits for (a grant, a message with its
		// files): the time the Wasm gives a call, not a first screen's.
		timeout = PostTimeout
	}
	ctx, cancel := deadline.WithTimeout(r.Context(), h.cfg.AfterFunc, timeout)
	defer cancel()
	backend := newServerBackend(h, w, r)
	backend.prepaid = prepaid
	comp, state, events := spec.render(ctx, backend, renderParams{
		now: h.cfg.Now, lang: lang, est: est,
		action:  formAction(name, est, lang, parent, q),
		booking: formAction("booking", est, lang, parent, withoutKeys(q, "service", "practitioner", "questionnaire")),
		query:   q, post: post, files: files,
		signIn: h.SignInLinks("", "/w/"+name+"?"+q.Encode()),
	})
	if e, ok := state.(interface{ ErrCode() portal.ErrorCode }); ok && post != nil && e.ErrCode() != "" {
		// The post's screen shows an error (a write refused, a thread not
		// theirs, a form drawn for someone else): recorded as the API
		// would have answered it, though the page answers 200.
		auditRefused(r.Context(), portal.Errorf(e.ErrCode(), "%s", e.ErrCode()))
	}
	if post != nil && spec.saved != nil && post.Get("a") == string(questionnaire.Save) {
		// A background save (frame.js, as the patient answers, before the
		// Wasm runs): the status says whether the draft holds the page's
		// answers; no document.
		w.Header().Set("Cache-Control", "no-store")
		spec.saved(w, post, state)
		return
	}
	if post != nil && state == nil {
		// The post's screen could not be drawn (the backend failed, or
		// took too long): the loading skeleton would drop what the person
		// wrote. frame.js says why above the widget and keeps its forms;
		// pressed again, the post is made again.
		h.widgetError(w, r, http.StatusServiceUnavailable, lang)
		return
	}
	var eventsJSON []byte
	if len(events) > 0 {
		eventsJSON, _ = json.Marshal(events) // strings only: cannot fail
	}
	var stateJSON []byte
	if state != nil {
		b, err := json.Marshal(state) // escapes <, > and &: safe inside the script element
		if err != nil {
			h.log.Error("encoding widget state", "widget", name, "err", err)
		} else {
			stateJSON = b
		}
	}
	var paint bytes.Buffer
	env, err := vugu.NewBuildEnv()
	if err == nil {
		br := env.RunBuild(comp)
		vdom.MergeText(br) // as the browser will (hydration)
		err = staticrender.New(&paint).Render(br)
	}
	if err != nil {
		h.log.Error("rendering first paint", "widget", name, "err", err)
		h.widgetError(w, r, http.StatusInternalServerError, lang)
		return
	}
	var nonceBytes [18]byte
	rand.Read(nonceBytes[:])
	nonce := base64.RawURLEncoding.EncodeToString(nonceBytes[:])
	title := spec.title[0]
	if lang == "en" {
		title = spec.title[1]
	}
	d := widgetPage{
		Lang: lang, Widget: name, Establishment: est, Service: q.Get("service"), Practitioner: q.Get("practitioner"),
		Questionnaire: q.Get("questionnaire"),
		Parent:        parent, Title: title, Nonce: nonce,
		// The stylesheet is inlined (under the nonce): a separate file would
		// cost a round trip before the first paint, 150 ms or more on a
		// phone. The page's theme comes after it.
		Style:      string(widgets.CSS) + ThemeCSS(h.withTheme(est, q)),
		Helper:     h.assets.byName["vugu-helper.js"].path,
		Frame:      h.assets.byName["frame.js"].path,
		FirstPaint: paint.String(),
		State:      string(stateJSON),
		Events:     string(eventsJSON),
	}
	if a := h.assets.byName["parcours.wasm"]; a != nil {
		d.Wasm = a.path
		d.WasmExec = h.assets.byName["wasm_exec.js"].path
		d.Compiler = h.assets.byName["compile.js"].path
	}
	h.documentHeaders(w, h.embedders(est), nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, d.html())
}

// formAction is the address a widget's form posts to: the widget document's
// own, rebuilt from validated values only.
func formAction(widget, est, lang, parent string, q url.Values) string {
	v := url.Values{}
	v.Set("establishment", est)
	for _, k := range []string{"service", "practitioner", "questionnaire"} {
		if x := q.Get(k); x != "" && len(x) <= 128 {
			v.Set(k, x)
		}
	}
	v.Set("lang", lang)
	if parent != "" {
		v.Set("parent", parent)
	}
	for _, k := range ThemeKeys {
		if x := strings.TrimSpace(q.Get("theme-" + k)); x != "" && safeThemeValue(x) {
			v.Set("theme-"+k, x)
		}
	}
	return "/w/" + url.PathEscape(widget) + "?" + v.Encode()
}

// withoutKeys returns a copy of q without keys.
func withoutKeys(q url.Values, keys ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// FrameAncestors returns the CSP frame-ancestors source list for an
// establishment: its configured origins, or 'none'.
func (h *Host) FrameAncestors(establishment string) string {
	return frameAncestors(h.origins[establishment])
}

// frameAncestors is the source list of origins, 'none' without any.
func frameAncestors(origins []string) string {
	if len(origins) > 0 {
		return strings.Join(origins, " ")
	}
	return "'none'"
}

// embedders are the origins allowed to embed a widget of establishment;
// for "" (a widget over every establishment), those of every
// establishment.
func (h *Host) embedders(establishment string) []string {
	if establishment != "" {
		return h.origins[establishment]
	}
	var all []string
	for _, e := range h.cfg.Establishments {
		for _, o := range h.origins[e.ID] {
			if !slices.Contains(all, o) {
				all = append(all, o)
			}
		}
	}
	return all
}

// documentHeaders sets the widget document's security headers: a strict CSP
// (no inline script, no eval; Wasm compilation allowed), embedding limited to
// the establishment's pages, no caching of a page that may show health data.
func (h *Host) documentHeaders(w http.ResponseWriter, embedders []string, nonce string) {
	style := "'self'"
	if nonce != "" {
		style += " 'nonce-" + nonce + "'"
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' 'wasm-unsafe-eval'",
		"style-src " + style,
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src 'self'",
		// The documents widget shows a PDF or a text in a frame of the
		// host's own origin (the file itself served with a sandboxing CSP).
		"frame-src 'self'",
		"base-uri 'none'",
		"form-action 'self'",
		"object-src 'none'",
		"frame-ancestors " + frameAncestors(embedders),
	}, "; "))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "strict-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

func (h *Host) widgetError(w http.ResponseWriter, r *http.Request, status int, lang string) {
	h.documentHeaders(w, nil, "")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	msg := [2]string{"Ce service n’est pas disponible à cette adresse.", "This service is not available at this address."}
	switch status {
	case http.StatusTooManyRequests:
		msg = [2]string{"Trop de demandes depuis cette connexion : réessayez dans une minute.", "Too many requests from this connection: try again in a minute."}
	case http.StatusRequestEntityTooLarge:
		msg = [2]string{"Les fichiers envoyés sont bien trop volumineux : revenez en arrière et choisissez-en de plus petits.", "The files sent are far too large: go back and choose smaller ones."}
	case http.StatusUnauthorized:
		msg = [2]string{"Votre session a pris fin : reconnectez-vous, puis recommencez.", "Your session has ended: sign in again, then start over."}
	case http.StatusBadRequest:
		msg = [2]string{"Cette demande n’a pas pu être lue : revenez en arrière et réessayez.", "This request could not be read: go back and try again."}
	case http.StatusServiceUnavailable:
		msg = [2]string{"Ce service est momentanément indisponible : réessayez dans quelques minutes.", "This service is unavailable for now: try again in a few minutes."}
	}
	if lang == "en" {
		msg[0] = msg[1]
	}
	var p page
	p.raw("<!DOCTYPE html><html")
	p.attr("lang", lang)
	p.raw(`><meta charset="utf-8"><title>Parcours</title><p role="alert">`)
	p.text(msg[0])
	p.raw("</p></html>\n")
	io.WriteString(w, p.String())
}

// AccessSnippet is Snippet for <parcours-access>: a patient sees who
// accessed their record and grants or revokes a professional's access.
func AccessSnippet(base, establishment, lang string) string {
	return snippet(base, "parcours-access", [][2]string{{"establishment", establishment}, {"lang", lang}})
}
