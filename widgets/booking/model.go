// Package booking is the appointment-booking widget, <parcours-booking>.
//
// The widget is one state machine: Model.Apply takes an Action (a patient's
// intent or the result of a call) and returns the next effect to run, a Cmd,
// which yields the next Action. The vugu component (booking.vugu) only maps
// DOM events to actions and the model to markup, so every step of the flow is
// tested on linux with the real SQLite backend behind a real host, and the
// host renders the first paint with vugu's staticrender from the same model.
package booking

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// Backend is what the widget needs: the booking service plus the session
// operations of the edge host. sdk/client implements it over HTTP.
type Backend interface {
	portal.Booking
	// Establishments lists the establishments the host serves, for a
	// widget without one (Model.Merged); with a *portal.PartialError when
	// some did not answer (the list holds the others).
	Establishments(ctx context.Context) ([]portal.Establishment, error)
	// CurrentPatient returns the signed-in patient, or nil when nobody is.
	CurrentPatient(ctx context.Context) (*portal.Patient, error)
	// DemoPatients lists the fictional patients of the demo sign-in; it is
	// empty when the host has the demo sign-in off.
	DemoPatients(ctx context.Context) ([]portal.Patient, error)
	// DemoSignIn opens a demo session as one of DemoPatients.
	DemoSignIn(ctx context.Context, patient string) (portal.Patient, error)
	// SignOut closes the session on the server.
	SignOut(ctx context.Context) error
	// CalendarURL is the address of an appointment's .ics file.
	CalendarURL(appointmentID string) string
}

// Step is where the patient is in the flow.
type Step string

// Steps of the booking flow.
const (
	// StepEstablishment: choose an establishment (a widget without one).
	StepEstablishment Step = "establishment"
	StepService       Step = "service" // choose a service and, optionally, a practitioner
	StepSlots         Step = "slots"   // browse free slots by day
	StepConfirm       Step = "confirm" // review, sign in if needed, confirm
	StepDone          Step = "done"    // confirmation
	StepMine          Step = "mine"    // my appointments
)

// WindowDays is how many days of slots one page shows.
const WindowDays = 14

// Day is one calendar day of free slots, in the establishment's time.
type Day struct {
	Date  time.Time
	Slots []portal.Slot
}

// Event is a widget event re-dispatched on the host page's element. It
// carries no health data: only the appointment id and its start.
type Event struct {
	Name        string // "parcours:booked" or "parcours:cancelled"
	Appointment string
	Start       time.Time
}

// Model is the whole state of the widget.
type Model struct {
	Lang          string
	Establishment string
	// PresetService and PresetPractitioner are what the host page asked for
	// (the element's service and practitioner attributes); they are chosen
	// on start when they exist.
	PresetService      string
	PresetPractitioner string

	Step    Step
	Loading bool             // a call is under way
	Err     portal.ErrorCode // the last failure, shown with a retry
	ErrText string           // its patient-facing text (an establishment's reason, or the code's message)
	retry   *Action

	EstablishmentName string
	Services          []portal.Service
	Service           string
	Practitioner      string
	Window            time.Time // first instant of the slot window
	Days              []Day
	Day               int
	Slot              portal.Slot
	bookKey           string // idempotency key of the current booking intent
	// slotsSeq numbers the slot loads: only the answer to the latest is
	// shown (an older one may answer last), and none once the patient has
	// left the slots.
	slotsSeq int

	Patient      *portal.Patient
	DemoPatients []portal.Patient
	DemoChoice   string
	// SignIn are the sign-in buttons the host offers (its identity
	// providers); the widget shows the patients' ones.
	SignIn []widgets.SignInLink

	// Merged: the widget was given no establishment (see NewModel);
	// Establishments are those the patient chooses from.
	Merged         bool
	Establishments []portal.Establishment

	Appointment portal.Appointment
	Mine        []portal.Appointment
	// MineMissing names the establishments whose appointments could not be
	// listed (a host serving several, one of them down): Mine holds the
	// others'.
	MineMissing   []string
	ConfirmCancel string
	// Notice is a polite status announced to screen readers (a message key).
	Notice string

	// Events are waiting to be sent to the host page; the component drains them.
	Events []Event
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewModel returns the state before anything has loaded: the skeleton.
// service and practitioner preselect a service and one of its practitioners;
// either may be empty.
//
// Without an establishment the widget is merged: the patient first
// chooses one of the host's establishments, and their appointments list
// every establishment's.
func NewModel(lang, establishment, service, practitioner string) *Model {
	m := &Model{
		Lang:               lang,
		Establishment:      establishment,
		PresetService:      service,
		PresetPractitioner: practitioner,
		Step:               StepService,
		Loading:            true,
		Merged:             establishment == "",
	}
	if m.Merged {
		m.Step = StepEstablishment
	}
	return m
}

func (m *Model) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Kind names an action.
type Kind string

// Actions: patient intents first, then results of calls.
const (
	Start              Kind = "start"
	ChooseService      Kind = "choose-service"
	ChoosePractitioner Kind = "choose-practitioner"
	LaterDays          Kind = "later-days"
	EarlierDays        Kind = "earlier-days"
	ChooseDay          Kind = "choose-day"
	ChooseSlot         Kind = "choose-slot"
	ChooseDemoPatient  Kind = "choose-demo-patient"
	SignIn             Kind = "sign-in"
	SignOut            Kind = "sign-out"
	Confirm            Kind = "confirm"
	ShowMine           Kind = "show-mine"
	AskCancel          Kind = "ask-cancel"
	KeepAppointment    Kind = "keep-appointment"
	CancelAppointment  Kind = "cancel"
	Back               Kind = "back"
	BackToBooking      Kind = "back-to-booking" // the "book" tab
	// ChooseEstablishment (ID) and ChangeEstablishment: a merged widget's
	// choice of establishment.
	ChooseEstablishment Kind = "choose-establishment"
	ChangeEstablishment Kind = "change-establishment"
	Retry               Kind = "retry"
	// SessionChanged: a sign-in completed outside the widget (the frame's
	// sign-in popup, another tab): the session is read again.
	SessionChanged Kind = "session-changed"

	sessionKept Kind = "session-kept"
	loaded      Kind = "loaded"
	slotsLoaded Kind = "slots-loaded"
	signedIn    Kind = "signed-in"
	signedOut   Kind = "signed-out"
	booked      Kind = "booked"
	mineLoaded  Kind = "mine-loaded"
	cancelled   Kind = "cancelled"
	// crashed: an effect panicked (Err says so).
	crashed Kind = "crashed"
)

// Action is an intent or a result. Only the fields its Kind uses are set.
type Action struct {
	Kind Kind
	ID   string // service, practitioner, slot, patient or appointment id, or a day (Day.Key)

	services     []portal.Service
	est          portal.Establishment
	ests         []portal.Establishment
	slots        []portal.Slot
	patient      *portal.Patient
	patients     []portal.Patient
	appointment  portal.Appointment
	appointments []portal.Appointment
	missing      []string
	err          error
	cause        *Action // the action whose call failed, for Retry
	seq          int     // slotsLoaded: the load it answers (Model.slotsSeq)
	owner        string  // mineLoaded: the patient whose appointments they are
	forEst       string  // loaded: the establishment chosen when it was asked for
}

// Cmd is an effect: a call to the backend that yields the next action.
type Cmd func(ctx context.Context, b Backend) Action

// Apply moves the model by one action and returns the effect to run next,
// or nil. It never blocks and never calls the backend itself.
func (m *Model) Apply(a Action) Cmd {
	if a.Kind == slotsLoaded && a.seq != m.slotsSeq {
		return nil // another choice's slots, or a screen left: neither data nor failure shows
	}
	if a.Kind == loaded && a.forEst != m.Establishment {
		return nil // an establishment since left: neither its name, its services nor its failure shows
	}
	if a.Kind == mineLoaded && (m.Patient == nil || m.Patient.ID != a.owner) {
		return nil // a patient who has left: their appointments are not for whoever is here now
	}
	if a.err != nil {
		return m.fail(a)
	}
	switch a.Kind {
	case Start:
		return m.call(a, m.loadAll(m.Establishment))
	case loaded:
		if m.Merged {
			m.Establishments = a.ests
			if m.Establishment == "" && len(a.ests) == 1 {
				// One establishment only: nothing to choose.
				return m.Apply(Action{Kind: ChooseEstablishment, ID: a.ests[0].ID})
			}
		}
		m.setLoaded(a.est.Name, a.services, a.patient, a.patients)
		if m.Step == StepService && m.Service == "" && m.service(m.PresetService) != nil {
			return m.Apply(Action{Kind: ChooseService, ID: m.PresetService})
		}
		return nil
	case ChooseService:
		if m.service(a.ID) == nil {
			return nil
		}
		m.Service, m.Practitioner = a.ID, ""
		if a.ID == m.PresetService && m.practitioner(m.PresetPractitioner) != nil {
			m.Practitioner = m.PresetPractitioner
		}
		m.Window = m.startOfWindow()
		m.Step = StepSlots
		// Another service's days must not show, or be pressed, while this
		// one's load.
		m.Days, m.Day = nil, 0
		return m.slotsCall(a)
	case ChoosePractitioner:
		if a.ID != "" && m.practitioner(a.ID) == nil {
			return nil
		}
		m.Practitioner = a.ID
		return m.slotsCall(a)
	case LaterDays:
		m.Window = m.Window.AddDate(0, 0, WindowDays)
		return m.slotsCall(a)
	case EarlierDays:
		w := m.Window.AddDate(0, 0, -WindowDays)
		if first := m.startOfWindow(); w.Before(first) {
			w = first
		}
		m.Window = w
		return m.slotsCall(a)
	case slotsLoaded:
		m.Loading = false
		// The day chosen stays chosen when the new slots still have it (a
		// day pressed while they loaded, another practitioner's slots).
		chosen := m.dayKey()
		m.Days = groupByDay(a.slots, m.Practitioner == "")
		m.Day = max(0, m.dayIndex(chosen))
		return nil
	case ChooseDay:
		// A day is named by its date, never by its place in the list: the
		// list may have changed since the button was drawn.
		if i := m.dayIndex(a.ID); i >= 0 {
			m.Day = i
		}
		return nil
	case ChooseSlot:
		for _, d := range m.Days {
			for _, s := range d.Slots {
				if s.ID == a.ID {
					m.Slot = s
					m.Step = StepConfirm
					m.bookKey = newKey()
					return nil
				}
			}
		}
		return nil
	case ChooseDemoPatient:
		m.DemoChoice = a.ID
		return nil
	case SignIn:
		if m.DemoChoice == "" {
			return nil
		}
		choice := m.DemoChoice // as pressed: the select may change before the call runs
		return m.call(a, func(ctx context.Context, b Backend) Action {
			p, err := b.DemoSignIn(ctx, choice)
			return Action{Kind: signedIn, patient: &p, err: err}
		})
	case SessionChanged:
		return m.call(a, func(ctx context.Context, b Backend) Action {
			p, err := b.CurrentPatient(ctx)
			if err == nil && p == nil {
				return Action{Kind: sessionKept}
			}
			return Action{Kind: signedIn, patient: p, err: err}
		})
	case sessionKept:
		m.Loading = false
		return nil
	case signedIn:
		m.Loading = false
		m.setPatient(a.patient)
		m.Notice = "signed-in"
		if m.Step == StepMine {
			return m.Apply(Action{Kind: ShowMine})
		}
		return nil
	case SignOut:
		return m.call(a, func(ctx context.Context, b Backend) Action {
			return Action{Kind: signedOut, err: b.SignOut(ctx)}
		})
	case signedOut:
		m.Loading = false
		m.Patient = nil
		m.Mine = nil
		m.Notice = "signed-out"
		if m.Step == StepMine || m.Step == StepDone {
			m.Step = StepService
		}
		return nil
	case Confirm:
		if m.Step != StepConfirm || m.Patient == nil {
			return nil
		}
		req := portal.BookRequest{Establishment: m.Establishment, Service: m.Service, Slot: m.Slot.ID, IdempotencyKey: m.bookKey}
		return m.call(a, func(ctx context.Context, b Backend) Action {
			apt, err := b.Book(ctx, req)
			return Action{Kind: booked, appointment: apt, err: err}
		})
	case booked:
		m.Loading = false
		m.Appointment = a.appointment
		m.Step = StepDone
		m.Notice = "booked"
		m.Events = append(m.Events, Event{Name: "parcours:booked", Appointment: a.appointment.ID, Start: a.appointment.Start})
		return nil
	case ShowMine:
		m.Step = StepMine
		m.ConfirmCancel = ""
		if m.Patient == nil {
			m.Loading = false
			return nil
		}
		owner := m.Patient.ID
		return m.call(a, func(ctx context.Context, b Backend) Action {
			list, err := b.Appointments(ctx)
			if missing := portal.Missing(err); missing != nil {
				// A part of the list: shown, with what is missing.
				return Action{Kind: mineLoaded, appointments: list, missing: missing, owner: owner}
			}
			return Action{Kind: mineLoaded, appointments: list, err: err, owner: owner}
		})
	case mineLoaded:
		m.Loading = false
		m.Mine, m.MineMissing = a.appointments, a.missing
		return nil
	case AskCancel:
		m.ConfirmCancel = a.ID
		return nil
	case KeepAppointment:
		m.ConfirmCancel = ""
		return nil
	case CancelAppointment:
		id := a.ID
		return m.call(a, func(ctx context.Context, b Backend) Action {
			apt, err := b.Cancel(ctx, id)
			return Action{Kind: cancelled, appointment: apt, err: err}
		})
	case cancelled:
		m.Loading = false
		m.ConfirmCancel = ""
		for i := range m.Mine {
			if m.Mine[i].ID == a.appointment.ID {
				m.Mine[i] = a.appointment
			}
		}
		if m.Appointment.ID == a.appointment.ID {
			m.Appointment = a.appointment
		}
		m.Notice = "cancelled"
		m.Events = append(m.Events, Event{Name: "parcours:cancelled", Appointment: a.appointment.ID, Start: a.appointment.Start})
		return nil
	case ChooseEstablishment:
		if !m.Merged || !slices.ContainsFunc(m.Establishments, func(e portal.Establishment) bool { return e.ID == a.ID }) {
			return nil
		}
		m.Establishment, m.Service, m.Practitioner, m.Services = a.ID, "", "", nil
		m.Step = StepService
		return m.call(a, m.loadAll(m.Establishment))
	case ChangeEstablishment:
		if !m.Merged {
			return nil
		}
		m.clearError()
		m.Establishment, m.EstablishmentName, m.Service, m.Practitioner, m.Services = "", "", "", "", nil
		m.Step = StepEstablishment
		m.Loading = false // an establishment's load under way is dropped when it answers
		return nil
	case BackToBooking:
		if m.Step != StepMine && m.Step != StepDone {
			return nil
		}
		m.clearError()
		if m.Establishment == "" {
			m.Step = StepEstablishment
			return nil
		}
		if m.Service != "" {
			m.Step = StepSlots
			return m.Apply(Action{Kind: ChoosePractitioner, ID: m.Practitioner})
		}
		m.Step = StepService
		return nil
	case Back:
		m.clearError()
		switch m.Step {
		case StepConfirm:
			m.Step = StepSlots
		case StepSlots, StepDone, StepMine:
			m.Step = StepService
			m.Service = ""
			// The service step waits for no slots: a load under way is
			// dropped when it answers.
			m.slotsSeq++
			m.Loading = false
		}
		return nil
	case Retry:
		if m.retry == nil {
			return nil
		}
		r := *m.retry
		m.clearError()
		return m.Apply(r)
	}
	return nil
}

// call marks the model busy and returns cmd, remembering the action so that
// a failure can offer to retry it.
func (m *Model) call(a Action, cmd Cmd) Cmd {
	m.Loading = true
	m.clearError()
	m.Notice = ""
	return func(ctx context.Context, b Backend) Action {
		r := cmd(ctx, b)
		if r.err != nil {
			cause := a
			r.cause = &cause
		}
		return r
	}
}

// setLoaded puts in what the first screen needs (from the backend, or from
// the host's snapshot); the demo sign-in preselects the first demo patient.
func (m *Model) setLoaded(establishment string, services []portal.Service, patient *portal.Patient, demo []portal.Patient) {
	m.Loading = false
	m.EstablishmentName = establishment
	m.Services = services
	m.setPatient(patient)
	m.DemoPatients = demo
	if m.DemoChoice == "" && len(demo) > 0 {
		m.DemoChoice = demo[0].ID
	}
}

// setPatient sets who is signed in. The appointments listed go with
// anyone else: they are the previous patient's health data.
func (m *Model) setPatient(p *portal.Patient) {
	if p == nil || m.Patient == nil || p.ID != m.Patient.ID {
		m.Mine, m.MineMissing, m.ConfirmCancel = nil, nil, ""
	}
	m.Patient = p
}

func (m *Model) clearError() { m.Err, m.ErrText, m.retry = "", "", nil }

func (m *Model) fail(a Action) Cmd {
	m.Loading = false
	code := portal.Code(a.err)
	m.Err = code
	m.ErrText = portal.PatientMessage(a.err, m.Lang)
	m.retry = a.cause
	switch code {
	case portal.ErrBookingRefused, portal.ErrSessionChanged:
		// An establishment's rule, or another person's session now
		// (another tab's sign-in): retrying the same booking cannot help.
		m.retry = nil
	case portal.ErrUnauthenticated:
		// The session ended (expired or signed out elsewhere): ask again.
		m.setPatient(nil)
		m.retry = nil
	case portal.ErrSlotUnavailable, portal.ErrSlotInPast:
		// Someone else took the slot: back to the slots, freshly loaded.
		if m.Step == StepConfirm {
			m.Step = StepSlots
			cmd := m.slotsCall(Action{Kind: ChooseDay})
			m.Err, m.retry = code, nil // keep telling why the patient is back here
			m.ErrText = portal.PatientMessage(a.err, m.Lang)
			return cmd
		}
	}
	return nil
}

// loadAll fetches what the first screen of establishment est needs (est
// is taken when the call is made: the patient may choose another before
// it runs). The calls are independent, so they run concurrently: on a
// phone each round trip costs.
func (m *Model) loadAll(est string) Cmd {
	merged := m.Merged
	return func(ctx context.Context, b Backend) Action {
		a := loadAll(ctx, b, merged, est)
		a.forEst = est
		return a
	}
}

func loadAll(ctx context.Context, b Backend, merged bool, establishment string) Action {
	var (
		wg       sync.WaitGroup
		est      portal.Establishment
		services []portal.Service
		patient  *portal.Patient
		patients []portal.Patient
		errs     [5]error
	)
	var ests []portal.Establishment
	if establishment != "" {
		wg.Go(func() { est, errs[0] = b.Establishment(ctx, establishment) })
		wg.Go(func() { services, errs[1] = b.Services(ctx, establishment) })
	}
	if merged {
		wg.Go(func() {
			var err error
			// A partial list offers the establishments that answered.
			if ests, err = b.Establishments(ctx); portal.Missing(err) == nil {
				errs[4] = err
			}
		})
	}
	wg.Go(func() { patient, errs[2] = b.CurrentPatient(ctx) })
	// The demo patients are only shown to someone signed out; asking for
	// them at once costs nothing when the demo sign-in is off (an empty list).
	wg.Go(func() { patients, errs[3] = b.DemoPatients(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Action{Kind: loaded, err: err}
		}
	}
	if patient != nil {
		patients = nil
	}
	return Action{Kind: loaded, est: est, ests: ests, services: services, patient: patient, patients: patients}
}

// slotsCall starts a load of the slots of the current choice. The query is
// taken now, under the lock: the patient may choose again before the call
// runs. Its answer shows only if no other load started meanwhile.
func (m *Model) slotsCall(cause Action) Cmd {
	m.slotsSeq++
	q, seq := m.slotQuery(), m.slotsSeq
	return m.call(cause, func(ctx context.Context, b Backend) Action { return fetchSlots(ctx, b, q, seq) })
}

// loadSlots loads the slots of the current choice, for a caller that runs
// it at once (a form post), as the answer to the latest load.
func (m *Model) loadSlots(ctx context.Context, b Backend) Action {
	return fetchSlots(ctx, b, m.slotQuery(), m.slotsSeq)
}

func (m *Model) slotQuery() portal.SlotQuery {
	return portal.SlotQuery{
		Establishment: m.Establishment,
		Service:       m.Service,
		Practitioner:  m.Practitioner,
		From:          m.Window,
		To:            m.Window.AddDate(0, 0, WindowDays),
	}
}

func fetchSlots(ctx context.Context, b Backend, q portal.SlotQuery, seq int) Action {
	slots, err := b.FreeSlots(ctx, q)
	return Action{Kind: slotsLoaded, slots: slots, err: err, seq: seq}
}

// startOfWindow is now, truncated to the minute so that retries ask the same.
func (m *Model) startOfWindow() time.Time {
	return m.now().UTC().Truncate(time.Minute)
}

// groupByDay groups slots (ordered by start) by their local calendar date.
// With anyPractitioner, one slot per start time is kept: the patient asked
// for a time, not a person, and sees who it is with before confirming.
// Key names a day in actions and form posts: its date, 2006-01-02.
func (d Day) Key() string { return d.Date.Format(time.DateOnly) }

// dayKey is the chosen day's key, "" when there is none.
func (m *Model) dayKey() string {
	if m.Day >= 0 && m.Day < len(m.Days) {
		return m.Days[m.Day].Key()
	}
	return ""
}

// dayIndex is the index of the day named key, -1 when it is not shown.
func (m *Model) dayIndex(key string) int {
	for i, d := range m.Days {
		if d.Key() == key { // never "": a date
			return i
		}
	}
	return -1
}

func groupByDay(slots []portal.Slot, anyPractitioner bool) []Day {
	var days []Day
	for _, s := range slots {
		y, mo, d := s.Start.Date()
		if n := len(days); n > 0 {
			py, pm, pd := days[n-1].Date.Date()
			if py == y && pm == mo && pd == d {
				prev := days[n-1].Slots
				if anyPractitioner && prev[len(prev)-1].Start.Equal(s.Start) {
					continue
				}
				days[n-1].Slots = append(prev, s)
				continue
			}
		}
		days = append(days, Day{Date: time.Date(y, mo, d, 0, 0, 0, 0, s.Start.Location()), Slots: []portal.Slot{s}})
	}
	return days
}

func (m *Model) service(id string) *portal.Service {
	for i := range m.Services {
		if m.Services[i].ID == id {
			return &m.Services[i]
		}
	}
	return nil
}

func (m *Model) practitioner(id string) *portal.Practitioner {
	if s := m.service(m.Service); s != nil {
		for i := range s.Practitioners {
			if s.Practitioners[i].ID == id {
				return &s.Practitioners[i]
			}
		}
	}
	return nil
}

// newKey returns a fresh idempotency key for one booking intent: 128 bits
// from the runtime's ChaCha8 generator (seeded by the browser's
// crypto.getRandomValues). The key must be unique, not secret: the host
// scopes it to the signed-in patient. Not crypto/rand, which links about
// 60 KB of FIPS crypto code into the browser's Wasm.
func newKey() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return "bk-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
