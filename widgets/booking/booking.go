package booking

import (
	"context"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// MountID is the id of the widget's root element: the host renders the first
// paint as that element and the browser renderer mounts on it, so the
// server-rendered nodes are kept (hydration) rather than replaced.
const MountID = "parcours-root"

// Booking is the vugu root component of the booking widget.
type Booking struct {
	M       *Model
	Backend Backend
	// Emit, when set, receives widget events for the host page. The browser
	// bridge sets it; it must not block.
	Emit func(Event)
	// Ctx bounds the backend calls; nil means context.Background().
	Ctx context.Context
	// Action is the address the widget's form posts to when the Wasm is not
	// running: the document's own address (path and query).
	Action string
	// Interacted is set by the first DOM event: focus moves to a new step's
	// heading only after the patient has acted, never on page load.
	Interacted bool
	driver     *ui.Driver[Action, Backend]
}

// drive returns the component's driver, made on first use (the fields it
// reads are set by then).
func (c *Booking) drive() *ui.Driver[Action, Backend] {
	if c.driver == nil {
		c.driver = &ui.Driver[Action, Backend]{
			Apply:      func(a Action) func(context.Context, Backend) Action { return c.M.Apply(a) },
			Backend:    c.Backend,
			HasBackend: c.Backend != nil,
			Ctx:        c.Ctx,
			Panicked: func(err error) Action {
				return Action{Kind: crashed, err: portal.Errorf(portal.ErrInternal, "%v", err)}
			},
			After: c.flushEvents,
		}
	}
	return c.driver
}

// Init starts loading when the component is first built in a browser.
func (c *Booking) Init(ctx vugu.InitCtx) {
	ee := ctx.EventEnv()
	if ee == nil || c.Backend == nil {
		return // a server-side render: the host preloads the model itself
	}
	if !c.M.Loading {
		return // hydrated from the host's snapshot: nothing to fetch
	}
	c.drive().Start(ee, Action{Kind: Start})
}

// Do handles a DOM event: it applies the named action with an id argument.
// It runs with the renderer's write lock held.
func (c *Booking) Do(event vugu.DOMEvent, kind string, id string) {
	// The controls are submit buttons of a form, for when the Wasm is not
	// running; here the Wasm handles them.
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), ID: id})
}

// Running reports how many backend calls are under way. Read it under the lock.
func (c *Booking) Running() int { return c.drive().Running() }

// View reports what the browser bridge needs after a render: a key that
// changes when the patient lands on another screen (focus then moves to its
// heading), whether a call is under way, and whether the patient has acted.
func (c *Booking) View() (screen string, loading, interacted bool) {
	return string(c.M.Step), c.M.Loading, c.Interacted
}

func (c *Booking) flushEvents() { ui.Flush(&c.M.Events, c.Emit) }

// View helpers, called by the template.

// T returns a UI text in the widget's language.
func (c *Booking) T(key string) string { return messages.T(c.M.Lang, key) }

// MineMissing says which establishments' appointments are missing from the
// list.
func (c *Booking) MineMissing() string {
	return messages.Tf(c.M.Lang, "mine-missing", strings.Join(c.M.MineMissing, ", "))
}

// DayAction is the form value of the button of day d.
func (c *Booking) DayAction(d Day) string { return string(ChooseDay) + ":" + d.Key() }

// Busy is the aria-busy value.
func (c *Booking) Busy() string {
	if c.M.Loading {
		return "true"
	}
	return "false"
}

// Show reports whether the step's panel is visible.
func (c *Booking) Show(step string) bool {
	if c.M.Step != Step(step) {
		return false
	}
	// Before the first load there is nothing to choose from: the skeleton shows.
	return !(step == string(StepService) && len(c.M.Services) == 0)
}

// Current is an aria-current value for the navigation.
func (c *Booking) Current(on bool) string {
	if on {
		return "page"
	}
	return "false"
}

// Pressed is an aria-pressed value.
func (c *Booking) Pressed(on bool) string {
	if on {
		return "true"
	}
	return "false"
}

// ErrText is the patient-facing text of the last error.
func (c *Booking) ErrText() string {
	if c.M.ErrText != "" {
		return c.M.ErrText
	}
	return c.M.Err.Message(c.M.Lang)
}

// CanRetry reports whether the last failure can be retried.
func (c *Booking) CanRetry() bool { return c.M.retry != nil }

// NoticeText is the status announced politely to screen readers.
func (c *Booking) NoticeText() string {
	if c.M.Notice == "" {
		return ""
	}
	return c.T("notice-" + c.M.Notice)
}

// ServiceName is the chosen service's name.
func (c *Booking) ServiceName() string {
	if s := c.M.service(c.M.Service); s != nil {
		return s.Name.In(c.M.Lang)
	}
	return ""
}

// Practitioners lists the chosen service's practitioners.
func (c *Booking) Practitioners() []portal.Practitioner {
	if s := c.M.service(c.M.Service); s != nil {
		return s.Practitioners
	}
	return nil
}

// PractitionerLabel is "Name, role".
func (c *Booking) PractitionerLabel(p portal.Practitioner) string {
	if r := p.Role.In(c.M.Lang); r != "" {
		return p.Name + ", " + r
	}
	return p.Name
}

// PractitionerName finds a practitioner of the chosen service by id.
func (c *Booking) PractitionerName(id string) string {
	if p := c.M.practitioner(id); p != nil {
		return c.PractitionerLabel(*p)
	}
	return ""
}

// DaySlots are the slots of the chosen day.
func (c *Booking) DaySlots() []portal.Slot {
	if c.M.Day < len(c.M.Days) {
		return c.M.Days[c.M.Day].Slots
	}
	return nil
}

// DayTitle names the chosen day.
func (c *Booking) DayTitle() string {
	if c.M.Day < len(c.M.Days) {
		return ui.Date(c.M.Lang, c.M.Days[c.M.Day].Date)
	}
	return ""
}

// SlotLabel is the full spoken label of a slot button.
func (c *Booking) SlotLabel(s portal.Slot) string {
	return messages.Tf(c.M.Lang, "slot-label", ui.DateTime(c.M.Lang, s.Start), c.PractitionerName(s.Practitioner))
}

// CanGoEarlier reports whether the window is after its first position.
func (c *Booking) CanGoEarlier() bool {
	return c.M.Window.After(c.M.startOfWindow().Add(time.Minute))
}

// ShortDate, Clock and DateTime format dates in the widget's language.
func (c *Booking) ShortDate(t time.Time) string { return ui.ShortDate(c.M.Lang, t) }

// Clock formats a time of day.
func (c *Booking) Clock(t time.Time) string { return ui.Clock(t) }

// DateTime formats a date and time.
func (c *Booking) DateTime(t time.Time) string { return ui.DateTime(c.M.Lang, t) }

// SignedInAs says who is signed in.
func (c *Booking) SignedInAs() string {
	if c.M.Patient == nil {
		return ""
	}
	return messages.Tf(c.M.Lang, "signed-in-as", c.M.Patient.DisplayName())
}

// AppointmentLine is "Service, practitioner".
func (c *Booking) AppointmentLine(a portal.Appointment) string {
	line := a.ServiceName.In(c.M.Lang) + " — " + a.Practitioner.Name
	if c.M.Merged {
		// Appointments of several establishments: each says where.
		name := a.Establishment
		for _, e := range c.M.Establishments {
			if e.ID == a.Establishment && e.Name != "" {
				name = e.Name
			}
		}
		line = name + " · " + line
	}
	return line
}

// Cancellable reports whether a can still be cancelled.
func (c *Booking) Cancellable(a portal.Appointment) bool {
	return a.Status == portal.StatusBooked && a.Start.After(c.M.now())
}

// CalendarURL is the .ics address of an appointment.
func (c *Booking) CalendarURL(id string) string {
	if c.Backend == nil || id == "" {
		return ""
	}
	return c.Backend.CalendarURL(id)
}

// SignInLinks are the host's sign-in buttons the sign-in panel shows:
// the patients'.
func (c *Booking) SignInLinks() []widgets.SignInLink {
	return ui.SignInLinks(c.M.SignIn, "patient")
}
