package documents

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// MountID is the id of the widget's root element (see widgets/booking).
const MountID = "parcours-root"

// DefaultPollEvery is how often the list is fetched again while it shows:
// a result released by the care team appears without a reload.
const DefaultPollEvery = 30 * time.Second

// Documents is the vugu root component of <parcours-documents>.
type Documents struct {
	M       *Model
	Backend Backend
	// Emit, when set, receives widget events for the host page; it must
	// not block.
	Emit func(Event)
	Ctx  context.Context
	// PollEvery is the refresh period in a browser; 0 means
	// DefaultPollEvery, negative never (tests tick by hand).
	PollEvery time.Duration
	// Hidden, when set, reports that the page is not visible: ticks are
	// skipped then.
	Hidden     func() bool
	Interacted bool
	// Action is where the widget's form posts (the host's document for
	// this widget): before the Wasm runs, opening a document or a trend and
	// going back are form posts the host answers (Serve).
	Action string
	driver *ui.Driver[Action, Backend]

	chartOf *portal.Trend
	chart   Chart
}

func (c *Documents) drive() *ui.Driver[Action, Backend] {
	if c.driver == nil {
		c.driver = &ui.Driver[Action, Backend]{
			Apply:      func(a Action) func(context.Context, Backend) Action { return c.M.Apply(a) },
			Backend:    c.Backend,
			HasBackend: c.Backend != nil,
			Ctx:        c.Ctx,
			Panicked:   func(error) Action { return Action{Kind: Crashed} },
			After:      func() { ui.Flush(&c.M.Events, c.Emit) },
		}
	}
	return c.driver
}

// Init starts loading (unless the host's snapshot hydrated the model) and
// the refresh ticker, when the component is first built in a browser.
func (c *Documents) Init(ctx vugu.InitCtx) {
	ee := ctx.EventEnv()
	if ee == nil || c.Backend == nil {
		return // a server-side render
	}
	if c.M.Loading {
		c.drive().Start(ee, Action{Kind: Start})
	}
	every := c.PollEvery
	if every == 0 {
		every = DefaultPollEvery
	}
	if every > 0 {
		go ui.Every(every, c.Hidden, func() { c.Poll(ee) })
	}
}

// Poll refreshes the list as the ticker does. It takes the renderer's
// write lock.
func (c *Documents) Poll(ee vugu.EventEnv) {
	ee.Lock()
	c.drive().Dispatch(ee, Action{Kind: Refresh})
	ee.UnlockRender()
}

// Attach hands over the file chosen on the screen seq (Model.Seq) once
// the browser read it. It takes the renderer's write lock.
func (c *Documents) Attach(ee vugu.EventEnv, seq int, f File) {
	ee.Lock()
	c.drive().Dispatch(ee, Action{Kind: AddFile, Seq: seq, Files: []File{f}})
	ee.UnlockRender()
}

// Do handles a button: the named action with an id argument.
func (c *Documents) Do(event vugu.DOMEvent, kind, id string) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), ID: id, Value: id})
}

// Change handles a field: the named action with the field's value.
func (c *Documents) Change(event vugu.DOMEvent, kind string) {
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Value: event.PropString("target", "value")})
}

// Check handles a checkbox: the named action with "true" or "false".
func (c *Documents) Check(event vugu.DOMEvent, kind string) {
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Value: strconv.FormatBool(event.PropBool("target", "checked"))})
}

// Running reports how many backend calls are under way (under the lock).
func (c *Documents) Running() int { return c.drive().Running() }

// View reports the screen (focus moves to its heading when it changes after
// the person acted), whether it is loading, and whether they acted.
func (c *Documents) View() (screen string, loading, interacted bool) {
	return string(c.M.Screen), c.M.Loading, c.Interacted
}

// View helpers, called by the template.

// T returns a UI text in the widget's language.
func (c *Documents) T(key string) string { return messages.T(c.M.Lang, key) }

func (c *Documents) tf(key string, args ...any) string { return messages.Tf(c.M.Lang, key, args...) }

// Busy is the aria-busy value.
func (c *Documents) Busy() string { return strconv.FormatBool(c.M.Loading) }

// Pro reports whether a practitioner is signed in.
func (c *Documents) Pro() bool { return c.M.Practitioner != nil }

// IsPatient reports whether a patient is signed in.
func (c *Documents) IsPatient() bool { return c.M.Patient != nil }

// Title is the widget's heading.
func (c *Documents) Title() string {
	if c.Pro() {
		return c.T("title-pro")
	}
	return c.T("title")
}

// CanRetry reports whether the error's action can be tried again.
func (c *Documents) CanRetry() bool { return c.M.retry != nil }

// SignedIn reports whether someone is signed in.
func (c *Documents) SignedIn() bool { return c.M.signedIn() }

// ShowSignIn reports whether the sign-in panel shows.
func (c *Documents) ShowSignIn() bool {
	return !c.M.Loading && !c.M.signedIn() && (c.M.Err == "" || c.M.Err == portal.ErrUnauthenticated)
}

// Show reports whether a screen's panel is visible.
func (c *Documents) Show(screen string) bool {
	if !c.M.signedIn() || c.M.Screen != Screen(screen) {
		return false
	}
	switch c.M.Screen {
	case ScreenList:
		return !c.M.Loading
	case ScreenDocument:
		return c.M.Open != nil
	case ScreenTrend:
		return c.M.Trend != nil
	}
	return true
}

// Option is a choice of a select.
type Option struct{ ID, Label string }

// DemoPatientOptions and DemoPractitionerOptions are the demo people one
// may sign in as.
func (c *Documents) DemoPatientOptions() []Option {
	var out []Option
	for _, p := range c.M.DemoPatients {
		out = append(out, Option{p.ID, p.DisplayName()})
	}
	return out
}

// DemoPractitionerOptions: see DemoPatientOptions.
func (c *Documents) DemoPractitionerOptions() []Option {
	var out []Option
	for _, p := range c.M.DemoPractitioners {
		out = append(out, Option{p.ID, practitionerLabel(p, c.M.Lang)})
	}
	return out
}

func practitionerLabel(p portal.Practitioner, lang string) string {
	if r := p.Role.In(lang); r != "" {
		return p.Name + " (" + r + ")"
	}
	return p.Name
}

// HasDemo reports whether demo sign-in is offered.
func (c *Documents) HasDemo() bool { return len(c.M.DemoPatients)+len(c.M.DemoPractitioners) > 0 }

// SignedInAs names who is signed in.
func (c *Documents) SignedInAs() string {
	switch {
	case c.M.Practitioner != nil:
		return c.tf("signed-in-as", practitionerLabel(*c.M.Practitioner, c.M.Lang))
	case c.M.Patient != nil:
		return c.tf("signed-in-as", c.M.Patient.DisplayName())
	}
	return ""
}

// CountText counts the documents, the new ones, and those shown.
func (c *Documents) CountText() string {
	total, shown := len(c.M.Docs), len(c.M.Listed())
	switch {
	case total == 0 && c.Pro() && c.M.HeldOnly:
		return c.T("held-none")
	case total == 0:
		return c.T("count-none")
	case shown != total:
		return c.tf("count-filtered", shown, total)
	}
	s := c.tf("count", total)
	if total == 1 {
		s = c.T("count-one")
	}
	switch n := c.M.NewCount(); {
	case c.Pro() || n == 0:
	case n == 1:
		s = c.tf("count-new-one", s)
	default:
		s = c.tf("count-new", s, n)
	}
	return s
}

// TypeOptions are the type filter's choices, with their counts; the types
// without any document are left out.
func (c *Documents) TypeOptions() []Option {
	counts := map[portal.DocumentType]int{}
	for _, d := range c.M.Docs {
		counts[d.Type]++
	}
	out := []Option{{"", c.T("type-all") + " (" + strconv.Itoa(len(c.M.Docs)) + ")"}}
	for _, t := range portal.DocumentTypes() {
		if counts[t] > 0 || c.M.Type == t {
			out = append(out, Option{string(t), c.TypeLabel(t) + " (" + strconv.Itoa(counts[t]) + ")"})
		}
	}
	return out
}

// TypeLabel names a document type.
func (c *Documents) TypeLabel(t portal.DocumentType) string {
	if t == portal.DocPatientDocument && c.Pro() {
		return c.T("type-patient_document-pro")
	}
	return c.T("type-" + string(t))
}

// Group is the documents of one month.
type Group struct {
	Label string
	Docs  []portal.Document
}

// Groups are the listed documents by month of their date, the latest
// first (the list is in that order).
func (c *Documents) Groups() []Group {
	var out []Group
	for _, d := range c.M.Listed() {
		label := ui.MonthYear(c.M.Lang, d.Date)
		if len(out) == 0 || out[len(out)-1].Label != label {
			out = append(out, Group{Label: label})
		}
		out[len(out)-1].Docs = append(out[len(out)-1].Docs, d)
	}
	return out
}

// DocMeta is a list entry's second line: type, date, establishment, and
// the patient for a practitioner.
func (c *Documents) DocMeta(d portal.Document) string {
	s := c.tf("doc-meta", c.TypeLabel(d.Type), ui.DayMonthYear(c.M.Lang, d.Date), c.estName(d.Establishment))
	if c.Pro() {
		name := d.PatientName
		if name == "" {
			name = d.Patient
		}
		s = c.tf("patient", name) + " · " + s
	}
	return s
}

// estName names an establishment as the host does, its id otherwise.
func (c *Documents) estName(id string) string {
	if id == c.M.Est.ID && c.M.Est.Name != "" {
		return c.M.Est.Name
	}
	for _, e := range c.M.Establishments {
		if e.ID == id && e.Name != "" {
			return e.Name
		}
	}
	return id
}

// Bool formats a boolean attribute value.
func (c *Documents) Bool(b bool) string { return strconv.FormatBool(b) }

// IsHeld reports whether d is held back from its patient.
func (c *Documents) IsHeld(d portal.Document) bool { return d.Release == portal.ReleaseHeld }

// TrendAnalytes are the analytes measured at least twice: those with a
// trend worth drawing.
func (c *Documents) TrendAnalytes() []Analyte {
	var out []Analyte
	for _, a := range c.M.Analytes {
		if a.Count >= 2 {
			out = append(out, a)
		}
	}
	return out
}

// AnalyteLatest describes an analyte's latest result (and, in a merged
// widget, its establishment).
func (c *Documents) AnalyteLatest(a Analyte) string {
	s := c.tf("analyte-latest", c.value(a.Latest), a.Latest.Unit, ui.DayMonthYear(c.M.Lang, a.Latest.Effective))
	if c.M.Merged {
		s = c.estName(a.Establishment) + " · " + s
	}
	return s
}

// ReleaseValue is the form value of a release button of the open
// document: kind ("release", "confirm-release", "cancel-release") and its id.
func (c *Documents) ReleaseValue(kind string) string {
	if c.M.Open == nil {
		return kind
	}
	return kind + ":" + c.M.Open.ID
}

// ZoomValue is the form value of a zoom button (kind "zoom-in" or
// "zoom-out"): the open document's id and the level it zooms from, so that
// the post shows the same document one level in or out (Serve).
func (c *Documents) ZoomValue(kind string) string {
	if c.M.Open == nil {
		return kind
	}
	return kind + ":" + c.M.Open.ID + ":" + strconv.Itoa(c.M.Zoom)
}

// OpenValue is the value of a document's button: the form post that opens
// it before the Wasm runs (Serve).
func (c *Documents) OpenValue(id string) string { return string(Open) + ":" + id }

// TrendValue is the value of an analyte's button: the form post that opens
// its trend before the Wasm runs (Serve).
func (c *Documents) TrendValue(est, code string) string {
	return string(ShowTrend) + ":" + est + ":" + code
}

// DoTrend opens the trend of an analyte of an establishment.
func (c *Documents) DoTrend(event vugu.DOMEvent, est, code string) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: ShowTrend, ID: code, Value: est})
}

// MissingText says which establishments' documents could not be listed.
func (c *Documents) MissingText() string {
	var names []string
	for _, id := range c.M.Missing {
		names = append(names, c.estName(id))
	}
	return c.tf("missing", strings.Join(names, ", "))
}

// value is an observation's value as the lab reported it, with the
// language's decimal mark.
func (c *Documents) value(o portal.Observation) string {
	return Decimal(c.M.Lang, o.Value, max(o.Decimals, 0))
}

// Document screen.

// OpenMeta is the open document's details.
func (c *Documents) OpenMeta() string {
	d := c.M.Open
	s := c.tf("doc-meta", c.TypeLabel(d.Type), ui.Date(c.M.Lang, d.Date), c.estName(d.Establishment))
	if d.Author != "" && d.Origin != portal.OriginPatient {
		s += " · " + c.tf("by", d.Author)
	}
	if c.Pro() {
		name := d.PatientName
		if name == "" {
			name = d.Patient
		}
		s = c.tf("patient", name) + " · " + s
	}
	return s
}

// ReleaseText says where a sensitive document stands, for a practitioner.
func (c *Documents) ReleaseText() string {
	d := c.M.Open
	switch d.Release {
	case portal.ReleaseHeld:
		s := c.T("held-note")
		if d.ReleaseDue != nil {
			s += " " + c.tf("held-due", ui.DateTime(c.M.Lang, *d.ReleaseDue))
		}
		return s
	case portal.ReleaseReleased:
		at := d.Created
		if d.Released != nil {
			at = *d.Released
		}
		if d.ReleasedBy != nil && d.ReleasedBy.Name != "" {
			return c.tf("released-by", ui.DateTime(c.M.Lang, at), d.ReleasedBy.Name)
		}
		return c.tf("released-auto", ui.DateTime(c.M.Lang, at))
	}
	return ""
}

// CanRelease reports whether the practitioner may release the open
// document.
func (c *Documents) CanRelease() bool {
	return c.Pro() && c.M.Open.Release == portal.ReleaseHeld && !c.M.Confirming
}

// Framed reports whether the open document shows in a frame: the
// browser's own PDF viewer, or plain text.
func (c *Documents) Framed() bool {
	ct := c.M.Open.ContentType
	return ct == portal.ContentTypePDF || ct == portal.ContentTypeText
}

// IsImage reports whether the open document's file is itself an image
// (a photo a patient added).
func (c *Documents) IsImage() bool {
	ct := c.M.Open.ContentType
	return ct == portal.ContentTypeJPEG || ct == portal.ContentTypePNG
}

// ContentURL is the open document's file: inline for the frame, or as a
// download.
func (c *Documents) ContentURL(inline bool) string {
	if c.Backend == nil || c.M.Open == nil {
		return ""
	}
	return c.Backend.DocumentContentURL(c.M.Open.ID, inline)
}

// ImageURL is an image of the open document.
func (c *Documents) ImageURL(img portal.DocumentImage, inline bool) string {
	if c.Backend == nil || c.M.Open == nil {
		return ""
	}
	return c.Backend.DocumentImageURL(c.M.Open.ID, img.ID, inline)
}

// ViewerTitle names the frame for screen readers.
func (c *Documents) ViewerTitle() string { return c.tf("viewer", c.M.Open.Title) }

// DownloadLabel names the download link with the file's kind and size.
func (c *Documents) DownloadLabel() string {
	return c.tf("download", kind(c.M.Open.ContentType), ui.Size(c.M.Lang, c.M.Open.Size))
}

func kind(ct string) string {
	switch ct {
	case portal.ContentTypePDF:
		return "PDF"
	case portal.ContentTypeJPEG:
		return "JPEG"
	case portal.ContentTypePNG:
		return "PNG"
	}
	return "TXT"
}

// ImageAlt describes image i (from 0) of the open document.
func (c *Documents) ImageAlt(i int) string { return c.tf("image-alt", i+1, c.M.Open.Title) }

// DownloadImageLabel names the download link of image i.
func (c *Documents) DownloadImageLabel(i int) string { return c.tf("download-image", i+1) }

// ZoomAttr is the zoom level, in percent, for the stylesheet.
func (c *Documents) ZoomAttr() string { return strconv.Itoa(zoomLevels[c.M.Zoom]) }

// ZoomText states the zoom level.
func (c *Documents) ZoomText() string { return c.tf("zoom-level", zoomLevels[c.M.Zoom]) }

// CanZoomIn and CanZoomOut are the zoom buttons' states.
func (c *Documents) CanZoomIn() bool { return c.M.Zoom < len(zoomLevels)-1 }

// CanZoomOut: see CanZoomIn.
func (c *Documents) CanZoomOut() bool { return c.M.Zoom > 0 }

// ResultsCaption is the results table's caption.
func (c *Documents) ResultsCaption() string {
	return c.tf("table-results", ui.Date(c.M.Lang, c.M.Open.Date))
}

// Value is an observation's value.
func (c *Documents) Value(o portal.Observation) string { return c.value(o) }

// Range is an observation's reference range, "" without one.
func (c *Documents) Range(o portal.Observation) string {
	return c.rangeText(o.Low, o.High, o.Decimals)
}

func (c *Documents) rangeText(low, high *float64, decimals int) string {
	n := max(decimals, 0)
	switch {
	case low != nil && high != nil:
		return c.tf("range-between", Decimal(c.M.Lang, *low, n), Decimal(c.M.Lang, *high, n))
	case low != nil:
		return c.tf("range-above", Decimal(c.M.Lang, *low, n))
	case high != nil:
		return c.tf("range-below", Decimal(c.M.Lang, *high, n))
	}
	return ""
}

// Flag is an observation's interpretation, in words (never by colour
// alone).
func (c *Documents) Flag(o portal.Observation) string {
	if o.Interpretation == portal.InterpretationNone {
		return ""
	}
	return c.T("flag-" + string(o.Interpretation))
}

// Out reports whether o lies outside its reference range.
func (c *Documents) Out(o portal.Observation) bool { return o.Interpretation.OutOfRange() }

// HasTrend reports whether the patient can see o's analyte over time.
func (c *Documents) HasTrend(o portal.Observation) bool {
	if !c.IsPatient() {
		return false
	}
	for _, a := range c.M.Analytes {
		if a.Code == o.Code && (a.Establishment == c.M.Open.Establishment || !c.M.Merged) {
			return a.Count >= 2
		}
	}
	return false
}

// TrendLabel names the button that opens o's trend.
func (c *Documents) TrendLabel(o portal.Observation) string {
	return c.tf("see-trend-of", o.Display.In(c.M.Lang))
}

// Trend screen.

// TrendTitle is the trend screen's heading.
func (c *Documents) TrendTitle() string { return c.tf("trend-title", c.M.Trend.Display.In(c.M.Lang)) }

// Chart sizes: the viewBox, about a phone's width so that its labels read
// at their font size there.
const chartWidth, chartHeight = 400, 220

// ChartViewBox is the chart's viewBox attribute.
func (c *Documents) ChartViewBox() string {
	return "0 0 " + strconv.Itoa(chartWidth) + " " + strconv.Itoa(chartHeight)
}

// ListTitle is the list's heading.
func (c *Documents) ListTitle() string {
	if c.Pro() {
		return c.T("list-title-pro")
	}
	return c.T("list-title")
}

// Chart lays the trend out (once per trend).
func (c *Documents) Chart() Chart {
	if c.chartOf != c.M.Trend {
		c.chartOf = c.M.Trend
		s := Series{Low: c.M.Trend.Low, High: c.M.Trend.High}
		for _, p := range c.M.Trend.Points {
			s.Points = append(s.Points, Point{At: p.Effective, Value: p.Value})
		}
		c.chart = Plot(s, chartWidth, chartHeight, c.M.Lang)
	}
	return c.chart
}

// ChartLabel is the chart's text alternative, pointing at the table.
func (c *Documents) ChartLabel() string {
	return c.tf("trend-chart-alt", c.M.Trend.Display.In(c.M.Lang))
}

// TrendSummary says in one sentence what the chart shows.
func (c *Documents) TrendSummary() string {
	tr := c.M.Trend
	if len(tr.Points) == 0 {
		return ""
	}
	first, last := tr.Points[0], tr.Points[len(tr.Points)-1]
	latest := c.value(last) + " " + tr.Unit
	if f := c.Flag(last); f != "" && last.Interpretation != portal.InterpretationNormal {
		latest += " (" + f + ")"
	}
	return c.tf("trend-summary", len(tr.Points), ui.DayMonthYear(c.M.Lang, first.Effective), ui.DayMonthYear(c.M.Lang, last.Effective), tr.Unit, latest)
}

// BandText explains the shaded band, "" without a range.
func (c *Documents) BandText() string {
	tr := c.M.Trend
	if tr.Low == nil && tr.High == nil {
		return ""
	}
	decimals := 0
	if len(tr.Points) > 0 {
		decimals = tr.Points[len(tr.Points)-1].Decimals
	}
	return c.tf("trend-band", c.rangeText(tr.Low, tr.High, decimals)+" "+tr.Unit)
}

// TrendTableCaption is the trend table's caption.
func (c *Documents) TrendTableCaption() string {
	return c.tf("trend-table", c.M.Trend.Display.In(c.M.Lang))
}

// PointDate dates a point of the trend.
func (c *Documents) PointDate(o portal.Observation) string {
	return ui.DayMonthYear(c.M.Lang, o.Effective)
}

// N formats a coordinate of the chart.
func (c *Documents) N(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// DotClass is a value's mark class: out of range, or not.
func (c *Documents) DotClass(d Dot) string {
	if d.Out {
		return "pc-dot pc-dot-out"
	}
	return "pc-dot"
}

// Upload screen.

// ServiceOptions are the services a document may be shared with.
func (c *Documents) ServiceOptions() []Option {
	var out []Option
	for _, s := range c.M.Services {
		label := s.Name.In(c.M.Lang)
		if c.M.Merged {
			label += " — " + c.estName(s.Establishment)
		}
		out = append(out, Option{ServiceKey(s), label})
	}
	return out
}

// FileHint states the upload rules.
func (c *Documents) FileHint() string { return c.tf("file-hint", megabytes(c.M.maxDocument())) }

// FileLabel names the chosen file with its size.
func (c *Documents) FileLabel() string {
	return c.tf("file-chosen", c.M.File.Name, ui.Size(c.M.Lang, c.M.File.Size))
}

// UploadLabel is the send button's text.
func (c *Documents) UploadLabel() string {
	if c.M.Uploading {
		return c.T("uploading")
	}
	return c.T("upload")
}

// SignInLinks are the host's sign-in buttons the sign-in panel shows:
// patients' first, then practitioners'.
func (c *Documents) SignInLinks() []widgets.SignInLink {
	return ui.SignInLinks(c.M.SignIn, "patient", "practitioner")
}
