// Package access is the access widget, <parcours-access>: a patient sees
// who accessed their data and when (the host's audit log, without their
// own requests), the access they granted to professionals, revokes one,
// and grants access to a professional found by their RPPS number.
//
// As in the other widgets, the widget is one state machine: Model.Apply
// takes an Action and returns the next effect, a Cmd.
package access

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Backend is what the widget needs from the edge host. sdk/client
// implements it over HTTP; the host implements it directly to render the
// first paint.
type Backend interface {
	Establishments(ctx context.Context) ([]portal.Establishment, error)
	Establishment(ctx context.Context, id string) (portal.Establishment, error)
	CurrentPatient(ctx context.Context) (*portal.Patient, error)
	DemoPatients(ctx context.Context) ([]portal.Patient, error)
	DemoSignIn(ctx context.Context, patient string) (portal.Patient, error)
	CurrentPractitioner(ctx context.Context) (*portal.Practitioner, error)
	SignOut(ctx context.Context) error

	AccessLog(ctx context.Context, after string, limit int) (client.AccessLog, error)
	Grants(ctx context.Context) ([]portal.Grant, error)
	// GrantAccessByRPPS grants practitioner, found by rpps in
	// establishment's directory: the host checks that it still answers
	// that id.
	GrantAccessByRPPS(ctx context.Context, establishment, practitioner, rpps string) (portal.Grant, error)
	RevokeAccess(ctx context.Context, id string) (portal.Grant, error)
	// PractitionerByRPPSIn answers the professional as est's directory
	// knows them: each establishment's backend has practitioner ids of
	// its own, and a grant through est names est's.
	PractitionerByRPPSIn(ctx context.Context, est, rpps string) (portal.Practitioner, error)
}

// Screen is what the widget shows.
type Screen string

// Screens.
const (
	ScreenHome          Screen = "home"           // the log, the grants, the RPPS field
	ScreenConfirmGrant  Screen = "confirm-grant"  // the professional found, to confirm
	ScreenConfirmRevoke Screen = "confirm-revoke" // a grant to revoke, to confirm
)

// PageSize is how many log entries a page holds.
const PageSize = 20

// Event is a widget event for the host page: the grant id only.
type Event struct {
	Name  string // "parcours:access-granted", "parcours:access-revoked"
	Grant string
}

// Model is the whole state of the widget.
type Model struct {
	Lang          string
	Establishment string
	// Merged: no establishment was given. With several establishments,
	// the patient chooses the one to grant access through (Choice) before
	// the look-up, which asks that establishment's directory.
	Merged         bool
	Establishments []portal.Establishment
	Choice         string
	// ChoiceErr asks to choose an establishment (a look-up without one).
	ChoiceErr string

	Screen  Screen
	Loading bool
	Err     portal.ErrorCode
	ErrText string
	retry   *Action
	seq     int
	// session changes when the person does (forget): the answer to a call
	// made for someone else touches nothing, not even Busy or More.
	session int

	Est          portal.Establishment
	Patient      *portal.Patient
	Practitioner *portal.Practitioner
	DemoPatients []portal.Patient
	DemoChoice   string
	SignIn       []widgets.SignInLink

	// Log is the access log read so far, newest first as the host pages
	// it; Next the cursor of the next, older page ("" when all is read).
	Log     []client.AccessEntry
	Next    string
	More    bool // a page is on its way
	pages   int  // pages of the log read
	Grants  []portal.Grant
	RPPS    string
	RPPSErr string
	// Found is the professional looked up, to confirm on ScreenConfirmGrant;
	// FoundIn the establishment whose directory answered, the one the
	// grant goes through (Found.ID is that directory's id).
	Found   *portal.Practitioner
	FoundIn string
	// Revoking is the grant to revoke on ScreenConfirmRevoke.
	Revoking *portal.Grant
	Busy     bool // a lookup, grant or revocation is under way

	Notice      string
	Events      []Event
	Now         func() time.Time
	CallTimeout time.Duration
}

// DefaultCallTimeout bounds a call to the host.
const DefaultCallTimeout = 30 * time.Second

// NewModel returns the state before anything has loaded.
func NewModel(lang, establishment string) *Model {
	return &Model{Lang: lang, Establishment: establishment, Merged: establishment == "", Screen: ScreenHome, Loading: true}
}

// Kind names an action.
type Kind string

// Actions: intents, then results of calls.
const (
	Start          Kind = "start"
	ChooseDemo     Kind = "choose-demo"
	SignIn         Kind = "sign-in"
	SignOut        Kind = "sign-out"
	SessionChanged Kind = "session-changed"
	LoadMore       Kind = "more"
	TypeRPPS       Kind = "type-rpps"
	ChooseEst      Kind = "choose-establishment" // Value: an establishment id
	Lookup         Kind = "lookup"
	Grant          Kind = "grant"  // confirms the professional found
	Revoke         Kind = "revoke" // ID: a grant; asks to confirm
	ConfirmRevoke  Kind = "confirm-revoke"
	Cancel         Kind = "cancel"
	Retry          Kind = "retry"
	Crashed        Kind = "crashed"

	loaded    Kind = "loaded"
	signedOut Kind = "signed-out"
	paged     Kind = "paged"
	found     Kind = "found"
	granted   Kind = "granted"
	revoked   Kind = "revoked"
)

// Action is an intent or a result.
type Action struct {
	Kind  Kind
	ID    string
	Value string

	seq      int
	session  int
	est      portal.Establishment
	ests     []portal.Establishment
	patient  *portal.Patient
	pract    *portal.Practitioner
	patients []portal.Patient
	log      client.AccessLog
	grants   []portal.Grant
	grant    portal.Grant
	err      error
	cause    *Action
}

// Cmd is an effect: calls to the backend that yield the next action.
type Cmd func(ctx context.Context, b Backend) Action

func (m *Model) callTimeout() time.Duration {
	if m.CallTimeout > 0 {
		return m.CallTimeout
	}
	return DefaultCallTimeout
}

func bounded(d time.Duration, cmd Cmd) Cmd {
	return func(ctx context.Context, b Backend) Action {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return cmd(ctx, b)
	}
}

// Apply moves the model by one action and returns the effect to run next,
// or nil. It never blocks and never calls the backend itself.
func (m *Model) Apply(a Action) Cmd {
	switch a.Kind {
	case Start, SessionChanged:
		m.Loading = true
		m.clearError()
		m.seq++
		seq := m.seq
		merged, est := m.Merged, m.Establishment
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := load(ctx, b, merged, est)
			r.seq = seq
			return r
		}))
	case loaded:
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.fail(a)
		}
		if m.signedIn() && ui.Person(m.Patient, m.Practitioner) != ui.Person(a.patient, a.pract) {
			m.forget() // someone else: nothing of the previous person stays
		}
		m.Loading = false
		m.Screen = ScreenHome
		m.Est, m.Establishments = a.est, a.ests
		m.Patient, m.Practitioner = a.patient, a.pract
		m.DemoPatients = a.patients
		if m.DemoChoice == "" && len(a.patients) > 0 {
			m.DemoChoice = a.patients[0].ID
		}
		m.setLog(a.log)
		m.Grants = sortGrants(a.grants)
		return nil

	case ChooseDemo:
		m.DemoChoice = a.Value
		return nil
	case SignIn:
		if m.DemoChoice == "" {
			return nil
		}
		m.Loading = true
		m.clearError()
		m.seq++
		seq, choice, merged, est := m.seq, m.DemoChoice, m.Merged, m.Establishment
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			if _, err := b.DemoSignIn(ctx, choice); err != nil {
				return Action{Kind: loaded, seq: seq, err: err}
			}
			r := load(ctx, b, merged, est)
			r.seq = seq
			return r
		}))
	case SignOut:
		m.Loading = true
		m.clearError()
		m.seq++
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			return Action{Kind: signedOut, err: b.SignOut(ctx)}
		}))
	case signedOut:
		if a.err != nil {
			return m.fail(a)
		}
		m.forget()
		m.announce(m.t("notice-signed-out"))
		return m.Apply(Action{Kind: Start})

	case LoadMore:
		if m.Patient == nil || m.Next == "" || m.More {
			return nil
		}
		m.More = true
		m.clearError()
		seq, session, after := m.seq, m.session, m.Next
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			l, err := b.AccessLog(ctx, after, PageSize)
			return Action{Kind: paged, seq: seq, session: session, log: l, err: err}
		}))
	case paged:
		if a.session != m.session {
			return nil
		}
		m.More = false // the page asked for has answered, shown or not
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.fail(a)
		}
		n := len(m.Log)
		m.addLog(a.log)
		m.pages++
		m.announce(m.tf("notice-more", len(m.Log)-n))
		return nil

	case TypeRPPS:
		m.RPPS, m.RPPSErr = a.Value, ""
		return nil
	case ChooseEst:
		if m.Busy {
			return nil
		}
		m.Choice, m.ChoiceErr = "", ""
		if slices.ContainsFunc(m.Establishments, func(e portal.Establishment) bool { return e.ID == a.Value }) {
			m.Choice = a.Value
		}
		return nil
	case Lookup:
		if m.Patient == nil || m.Busy {
			return nil
		}
		rpps := strings.Join(strings.Fields(m.RPPS), "")
		est := m.lookupEstablishment()
		m.RPPSErr, m.ChoiceErr = "", ""
		if est == "" && m.Choosing() {
			m.ChoiceErr = m.t("choose-establishment")
		}
		if portal.ValidRPPS(rpps) {
			m.RPPS = rpps
		} else {
			m.RPPSErr = m.t("rpps-invalid")
		}
		if m.ChoiceErr != "" || m.RPPSErr != "" {
			m.announce(strings.TrimSpace(m.ChoiceErr + " " + m.RPPSErr))
			return nil
		}
		if est == "" {
			m.Err, m.ErrText = portal.ErrNotFound, m.t("no-establishment")
			return nil
		}
		m.Busy = true
		m.clearError()
		seq, session := m.seq, m.session
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			p, err := b.PractitionerByRPPSIn(ctx, est, rpps)
			// The grant names the number looked up, which the host checks.
			p.RPPS = rpps
			return Action{Kind: found, ID: est, seq: seq, session: session, pract: &p, err: err}
		}))
	case found:
		if a.session != m.session {
			return nil
		}
		m.Busy = false // the look-up has answered, shown or not
		if a.seq != m.seq {
			return nil
		}
		if portal.IsCode(a.err, portal.ErrNotFound) || portal.IsCode(a.err, portal.ErrInvalid) {
			m.RPPSErr = m.t("rpps-unknown")
			if m.Choosing() {
				// Another establishment's directory may know them.
				m.RPPSErr = m.tf("rpps-unknown-in", m.estName(a.ID))
			}
			m.announce(m.RPPSErr)
			return nil
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Found, m.FoundIn = a.pract, a.ID
		m.goTo(ScreenConfirmGrant)
		return nil
	case Grant:
		if m.Screen != ScreenConfirmGrant || m.Found == nil || m.FoundIn == "" || m.Busy {
			return nil
		}
		// Through the establishment whose directory answered the look-up:
		// Found.ID is that directory's id, meaningless (or someone else)
		// in another establishment's backend.
		est := m.FoundIn
		m.Busy = true
		m.clearError()
		seq, session, pract, rpps := m.seq, m.session, m.Found.ID, m.Found.RPPS
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			g, err := b.GrantAccessByRPPS(ctx, est, pract, rpps)
			r := Action{Kind: granted, seq: seq, session: session, grant: g, err: err}
			if err == nil {
				r.grants, _ = b.Grants(ctx)
			}
			return r
		}))
	case granted:
		if a.session != m.session {
			return nil // another person's grant
		}
		m.Busy = false
		if a.err != nil {
			return m.fail(a)
		}
		m.setGrant(a.grant, a.grants)
		m.Events = append(m.Events, Event{Name: "parcours:access-granted", Grant: a.grant.ID})
		name := a.grant.PractitionerName
		if name == "" && m.Found != nil {
			name = m.Found.Name
		}
		m.Found, m.FoundIn, m.RPPS = nil, "", ""
		m.goTo(ScreenHome)
		m.announce(m.tf("notice-granted", name))
		return nil

	case Revoke:
		g := m.grant(a.ID)
		if g == nil || !g.Active() {
			return nil
		}
		c := *g
		m.Revoking = &c
		m.clearError()
		m.goTo(ScreenConfirmRevoke)
		return nil
	case ConfirmRevoke:
		if m.Screen != ScreenConfirmRevoke || m.Revoking == nil || m.Busy {
			return nil
		}
		m.Busy = true
		m.clearError()
		seq, session, id := m.seq, m.session, m.Revoking.ID
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			g, err := b.RevokeAccess(ctx, id)
			return Action{Kind: revoked, seq: seq, session: session, grant: g, err: err}
		}))
	case revoked:
		if a.session != m.session {
			return nil // another person's revocation
		}
		m.Busy = false
		if a.err != nil {
			return m.fail(a)
		}
		m.setGrant(a.grant, nil)
		m.Events = append(m.Events, Event{Name: "parcours:access-revoked", Grant: a.grant.ID})
		m.Revoking = nil
		m.goTo(ScreenHome)
		m.announce(m.tf("notice-revoked", a.grant.PractitionerName))
		return nil
	case Cancel:
		m.Found, m.FoundIn, m.Revoking = nil, "", nil
		m.clearError()
		m.goTo(ScreenHome)
		return nil

	case Retry:
		if m.retry == nil {
			return nil
		}
		r := *m.retry
		m.clearError()
		return m.Apply(r)
	case Crashed:
		m.Loading, m.Busy, m.More = false, false, false
		m.Err, m.ErrText, m.retry = portal.ErrInternal, m.t("crashed"), &Action{Kind: Start}
		return nil
	}
	return nil
}

// load reads the establishment, the session and, for a patient, their log
// and grants; signed out, the demo patients.
func load(ctx context.Context, b Backend, merged bool, est string) Action {
	var (
		wg   sync.WaitGroup
		r    = Action{Kind: loaded}
		errs [3]error
	)
	if merged {
		wg.Go(func() {
			var err error
			r.ests, err = b.Establishments(ctx)
			if portal.Missing(err) == nil {
				errs[0] = err
			}
		})
	} else {
		wg.Go(func() { r.est, errs[0] = b.Establishment(ctx, est) })
	}
	wg.Go(func() { r.patient, errs[1] = b.CurrentPatient(ctx) })
	wg.Go(func() { r.pract, errs[2] = b.CurrentPractitioner(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.err = err
			return r
		}
	}
	switch {
	case r.patient != nil:
		r.pract = nil
		wg.Go(func() { r.log, errs[0] = b.AccessLog(ctx, "", PageSize) })
		wg.Go(func() { r.grants, errs[1] = b.Grants(ctx) })
		wg.Wait()
		if r.err = errs[0]; r.err == nil {
			r.err = errs[1]
		}
	case r.pract == nil:
		r.patients, r.err = b.DemoPatients(ctx)
	}
	return r
}

// lookupEstablishment is the establishment a look-up is for, and the
// grant that follows goes through: the widget's; in a merged widget the
// one the patient chose, or the host's only one; "" when the patient has
// yet to choose (or none answers).
func (m *Model) lookupEstablishment() string {
	if !m.Merged {
		return m.Establishment
	}
	if m.Choice != "" && slices.ContainsFunc(m.Establishments, func(e portal.Establishment) bool { return e.ID == m.Choice }) {
		return m.Choice
	}
	if len(m.Establishments) == 1 {
		return m.Establishments[0].ID
	}
	return ""
}

// estName names establishment id: the widget's, or one of the merged
// widget's list; the id itself when its name is unknown.
func (m *Model) estName(id string) string {
	if !m.Merged && m.Est.Name != "" && m.Est.ID == id {
		return m.Est.Name
	}
	for _, e := range m.Establishments {
		if e.ID == id && e.Name != "" {
			return e.Name
		}
	}
	return id
}

// Choosing reports whether the patient chooses the establishment to grant
// through: a merged widget on a host serving several.
func (m *Model) Choosing() bool { return m.Merged && len(m.Establishments) > 1 }

// setLog keeps the first page of the log.
func (m *Model) setLog(l client.AccessLog) {
	m.Log, m.Next, m.pages = nil, "", 1
	m.addLog(l)
}

func (m *Model) addLog(l client.AccessLog) {
	for _, e := range l.Entries {
		if !slices.ContainsFunc(m.Log, func(x client.AccessEntry) bool { return x.ID == e.ID }) {
			m.Log = append(m.Log, e)
		}
	}
	m.Next = l.Next
}

// sortGrants puts active grants first, each group latest first.
func sortGrants(gs []portal.Grant) []portal.Grant {
	gs = slices.Clone(gs)
	ui.SortStable(gs, func(a, b *portal.Grant) int {
		if a.Active() != b.Active() {
			if a.Active() {
				return -1
			}
			return 1
		}
		return b.Granted.Compare(a.Granted)
	})
	return gs
}

// setGrant records g, or the fresh list when there is one.
func (m *Model) setGrant(g portal.Grant, all []portal.Grant) {
	if all != nil {
		m.Grants = sortGrants(all)
		return
	}
	if i := slices.IndexFunc(m.Grants, func(x portal.Grant) bool { return x.ID == g.ID }); i >= 0 {
		m.Grants[i] = g
	} else {
		m.Grants = append(m.Grants, g)
	}
	m.Grants = sortGrants(m.Grants)
}

func (m *Model) grant(id string) *portal.Grant {
	for i := range m.Grants {
		if m.Grants[i].ID == id {
			return &m.Grants[i]
		}
	}
	return nil
}

// ActiveGrants and RevokedGrants split the grants.
func (m *Model) ActiveGrants() []portal.Grant {
	var out []portal.Grant
	for _, g := range m.Grants {
		if g.Active() {
			out = append(out, g)
		}
	}
	return out
}

// RevokedGrants: see ActiveGrants.
func (m *Model) RevokedGrants() []portal.Grant {
	var out []portal.Grant
	for _, g := range m.Grants {
		if !g.Active() {
			out = append(out, g)
		}
	}
	return out
}

func (m *Model) goTo(s Screen) {
	m.Screen = s
	m.seq++
	m.Loading = false
}

func (m *Model) call(cause Action, cmd Cmd) Cmd {
	return func(ctx context.Context, b Backend) Action {
		r := cmd(ctx, b)
		if r.err != nil {
			r.cause = &cause
		}
		return r
	}
}

func (m *Model) clearError() { m.Err, m.ErrText, m.retry = "", "", nil }

func (m *Model) fail(a Action) Cmd {
	m.Loading, m.Busy, m.More = false, false, false
	m.Err = portal.Code(a.err)
	m.ErrText = portal.PatientMessage(a.err, m.Lang)
	m.retry = a.cause
	if m.Err == portal.ErrUnauthenticated {
		m.forget()
		m.retry = nil
		return m.Apply(Action{Kind: Start})
	}
	return nil
}

func (m *Model) forget() {
	m.seq++
	m.session++
	m.Patient, m.Practitioner = nil, nil
	m.Log, m.Next, m.pages, m.Grants, m.Found, m.FoundIn, m.Revoking = nil, "", 0, nil, nil, "", nil
	m.RPPS, m.RPPSErr, m.Busy, m.More = "", "", false, false
	m.Choice, m.ChoiceErr = "", ""
	m.Screen, m.DemoChoice = ScreenHome, ""
}

func (m *Model) signedIn() bool { return m.Patient != nil || m.Practitioner != nil }

func (m *Model) announce(text string) {
	if text == m.Notice {
		text += "\u00a0"
	}
	m.Notice = text
}

func (m *Model) t(key string) string { return messages.T(m.Lang, key) }

func (m *Model) tf(key string, args ...any) string { return messages.Tf(m.Lang, key, args...) }
