package booking

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

func slotAt(id, practitioner string, t time.Time) portal.Slot {
	return portal.Slot{ID: id, Practitioner: practitioner, Start: t, End: t.Add(30 * time.Minute)}
}

func TestGroupByDay(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	d1 := time.Date(2026, 11, 24, 9, 0, 0, 0, cet)
	d2 := time.Date(2026, 11, 25, 9, 0, 0, 0, cet)
	slots := []portal.Slot{
		slotAt("a", "p1", d1), slotAt("b", "p2", d1), slotAt("c", "p1", d1.Add(30*time.Minute)),
		slotAt("d", "p1", d2),
		// 23:30 Paris is 22:30 UTC: still the 25th for the patient.
		slotAt("e", "p2", time.Date(2026, 11, 25, 23, 30, 0, 0, cet)),
	}
	anyone := groupByDay(slots, true)
	if len(anyone) != 2 || len(anyone[0].Slots) != 2 || anyone[0].Slots[0].ID != "a" || anyone[0].Slots[1].ID != "c" || len(anyone[1].Slots) != 2 {
		t.Fatalf("any practitioner: %+v", anyone)
	}
	each := groupByDay(slots, false)
	if len(each[0].Slots) != 3 {
		t.Fatalf("with a practitioner chosen, every slot stays: %+v", each[0].Slots)
	}
	if each[1].Date.Day() != 25 {
		t.Errorf("second day %s", each[1].Date)
	}
}

// TestDaysByDate: a day is named by its date. A press drawn from an older
// list, or made while the slots load, chooses that date or nothing; another
// service's days never show while its own load.
func TestDaysByDate(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	d1 := time.Date(2026, 11, 24, 9, 0, 0, 0, cet)
	d2, d3 := d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)
	m := loadedModel()
	m.Apply(Action{Kind: ChooseService, ID: "maternite"})
	m.Apply(Action{Kind: slotsLoaded, seq: m.slotsSeq, slots: []portal.Slot{slotAt("a", "p1", d1), slotAt("b", "p1", d2), slotAt("c", "p1", d3)}})
	if m.Apply(Action{Kind: ChooseDay, ID: "2026-11-25"}); m.Day != 1 {
		t.Fatalf("day %d after choosing the 25th, want 1", m.Day)
	}
	if m.Apply(Action{Kind: ChooseDay, ID: "2026-12-01"}); m.Day != 1 {
		t.Fatalf("a day not shown moved the choice to %d", m.Day)
	}
	if m.Apply(Action{Kind: ChooseDay, ID: "1"}); m.Day != 1 {
		t.Fatalf("an index moved the choice to %d", m.Day)
	}
	// The 24th's last slot is booked meanwhile: the reload keeps the 25th,
	// now first in the list.
	m.Apply(Action{Kind: ChoosePractitioner, ID: "p1"})
	m.Apply(Action{Kind: ChooseDay, ID: "2026-11-26"}) // pressed while loading
	m.Apply(Action{Kind: slotsLoaded, seq: m.slotsSeq, slots: []portal.Slot{slotAt("b", "p1", d2), slotAt("c", "p1", d3)}})
	if m.Day != 1 || m.Days[m.Day].Key() != "2026-11-26" {
		t.Fatalf("after the reload: day %d of %d, want the 26th", m.Day, len(m.Days))
	}
	// A day no longer offered falls back to the first.
	m.Apply(Action{Kind: ChoosePractitioner, ID: ""})
	m.Apply(Action{Kind: slotsLoaded, seq: m.slotsSeq, slots: []portal.Slot{slotAt("b", "p1", d2)}})
	if m.Day != 0 || m.Days[0].Key() != "2026-11-25" {
		t.Fatalf("after the 26th went: day %d, %+v", m.Day, m.Days)
	}
	if st := m.FormState(); st.Day != "2026-11-25" {
		t.Fatalf("form state day %q", st.Day)
	}
	// Choosing a service again shows none of the old days while its load.
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: ChooseService, ID: "maternite"})
	if len(m.Days) != 0 || m.Day != 0 {
		t.Fatalf("old days shown while the service's load: %+v", m.Days)
	}
}

func loadedModel() *Model {
	m := NewModel("fr", "chu-exemple", "", "")
	m.Apply(Action{Kind: loaded, forEst: m.Establishment, services: []portal.Service{{ID: "maternite", Practitioners: []portal.Practitioner{{ID: "p1"}}}}})
	return m
}

func TestTransitions(t *testing.T) {
	m := loadedModel()
	if m.Step != StepService || m.Loading {
		t.Fatalf("after load: step %s loading %v", m.Step, m.Loading)
	}
	if cmd := m.Apply(Action{Kind: ChooseService, ID: "cardiologie"}); cmd != nil || m.Service != "" {
		t.Fatal("an unknown service was chosen")
	}
	if cmd := m.Apply(Action{Kind: ChooseService, ID: "maternite"}); cmd == nil || m.Step != StepSlots || !m.Loading {
		t.Fatalf("choose service: step %s loading %v", m.Step, m.Loading)
	}
	if cmd := m.Apply(Action{Kind: ChoosePractitioner, ID: "nobody"}); cmd != nil {
		t.Fatal("an unknown practitioner filter was applied")
	}
	start := time.Now().Add(48 * time.Hour)
	m.Apply(Action{Kind: slotsLoaded, seq: m.slotsSeq, slots: []portal.Slot{slotAt("s1", "p1", start)}})
	m.Apply(Action{Kind: ChooseSlot, ID: "s1"})
	if m.Step != StepConfirm || m.bookKey == "" {
		t.Fatalf("choose slot: step %s key %q", m.Step, m.bookKey)
	}
	key := m.bookKey
	// Without a patient, Confirm does nothing.
	if cmd := m.Apply(Action{Kind: Confirm}); cmd != nil {
		t.Fatal("confirmed without a patient")
	}
	m.Patient = &portal.Patient{ID: "pat-1"}
	cause := Action{Kind: Confirm}
	m.Apply(Action{Kind: booked, err: portal.Errorf(portal.ErrBackendUnavailable, "down"), cause: &cause})
	if m.Err != portal.ErrBackendUnavailable || m.retry == nil || m.Step != StepConfirm {
		t.Fatalf("after a failure: err %q retry %v step %s", m.Err, m.retry, m.Step)
	}
	if cmd := m.Apply(Action{Kind: Retry}); cmd == nil || m.bookKey != key || m.Err != "" {
		t.Fatalf("retry: key %q (was %q), err %q", m.bookKey, key, m.Err)
	}
	// A lost session asks the patient to sign in again; no blind retry.
	m.Apply(Action{Kind: booked, err: portal.Errorf(portal.ErrUnauthenticated, "expired"), cause: &cause})
	if m.Patient != nil || m.retry != nil || m.Err != portal.ErrUnauthenticated {
		t.Fatalf("after unauthenticated: patient %v retry %v err %q", m.Patient, m.retry, m.Err)
	}
	// Back from confirm goes to the slots, then to the services.
	m.Apply(Action{Kind: Back})
	if m.Step != StepSlots {
		t.Fatalf("back: %s", m.Step)
	}
	m.Apply(Action{Kind: Back})
	if m.Step != StepService || m.Service != "" {
		t.Fatalf("back again: %s %q", m.Step, m.Service)
	}
}

func TestBookedEmitsEvent(t *testing.T) {
	m := loadedModel()
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	m.Apply(Action{Kind: booked, appointment: portal.Appointment{ID: "apt_1", Start: start, ServiceName: portal.Text{FR: "Maternité"}}})
	if m.Step != StepDone || len(m.Events) != 1 {
		t.Fatalf("step %s events %+v", m.Step, m.Events)
	}
	e := m.Events[0]
	if e != (Event{Name: "parcours:booked", Appointment: "apt_1", Start: start}) {
		t.Errorf("event %+v carries more than the id and start", e)
	}
}

func TestEarlierDaysStopsAtNow(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	m := loadedModel()
	m.Now = func() time.Time { return now }
	m.Apply(Action{Kind: ChooseService, ID: "maternite"})
	m.Apply(Action{Kind: LaterDays})
	if !m.Window.Equal(now.AddDate(0, 0, WindowDays)) {
		t.Fatalf("later: %s", m.Window)
	}
	m.Apply(Action{Kind: EarlierDays})
	m.Apply(Action{Kind: EarlierDays})
	if !m.Window.Equal(now) {
		t.Fatalf("earlier twice: %s, want %s", m.Window, now)
	}
}

// partialBackend answers a merged list with one establishment missing.
type partialBackend struct{ Backend }

func (partialBackend) Appointments(context.Context) ([]portal.Appointment, error) {
	return []portal.Appointment{{ID: "chu-exemple~apt-1"}}, &portal.PartialError{Establishments: []string{"ch-nord"}, Err: errors.New("timeout")}
}

func TestAppointmentsOfAnEstablishmentDownAreSaidMissing(t *testing.T) {
	m := loadedModel()
	m.Patient = &portal.Patient{ID: "pat-a"}
	cmd := m.Apply(Action{Kind: ShowMine})
	m.Apply(cmd(context.Background(), partialBackend{}))
	if m.Err != "" || len(m.Mine) != 1 || len(m.MineMissing) != 1 || m.MineMissing[0] != "ch-nord" {
		t.Fatalf("a partial list: err %q, mine %v, missing %v", m.Err, m.Mine, m.MineMissing)
	}
	c := &Booking{M: m}
	if got := c.MineMissing(); !strings.Contains(got, "ch-nord") {
		t.Errorf("notice %q", got)
	}
}

// twoEstablishments answers a merged widget's calls.
type twoEstablishments struct{ Backend }

func (twoEstablishments) Establishments(context.Context) ([]portal.Establishment, error) {
	return []portal.Establishment{{ID: "chu-exemple", Name: "CHU Exemple"}, {ID: "ch-nord", Name: "CH Nord"}}, nil
}
func (twoEstablishments) Establishment(_ context.Context, id string) (portal.Establishment, error) {
	return portal.Establishment{ID: id, Name: map[string]string{"chu-exemple": "CHU Exemple", "ch-nord": "CH Nord"}[id]}, nil
}
func (twoEstablishments) Services(_ context.Context, est string) ([]portal.Service, error) {
	return []portal.Service{{ID: "svc-" + est, Establishment: est}}, nil
}
func (twoEstablishments) CurrentPatient(context.Context) (*portal.Patient, error) { return nil, nil }
func (twoEstablishments) DemoPatients(context.Context) ([]portal.Patient, error)  { return nil, nil }

func run(m *Model, b Backend, a Action) {
	for cmd := m.Apply(a); cmd != nil; {
		cmd = m.Apply(cmd(context.Background(), b))
	}
}

func TestMergedWidgetChoosesAnEstablishmentFirst(t *testing.T) {
	b := twoEstablishments{}
	m := NewModel("fr", "", "", "")
	if !m.Merged || m.Step != StepEstablishment {
		t.Fatalf("merged %v, step %s", m.Merged, m.Step)
	}
	run(m, b, Action{Kind: Start})
	if m.Step != StepEstablishment || len(m.Establishments) != 2 || len(m.Services) != 0 {
		t.Fatalf("after start: step %s, %d establishments, %d services", m.Step, len(m.Establishments), len(m.Services))
	}
	run(m, b, Action{Kind: ChooseEstablishment, ID: "ch-sud"})
	if m.Establishment != "" {
		t.Fatal("an establishment not offered was chosen")
	}
	run(m, b, Action{Kind: ChooseEstablishment, ID: "ch-nord"})
	if m.Step != StepService || m.Establishment != "ch-nord" || m.EstablishmentName != "CH Nord" || len(m.Services) != 1 || m.Services[0].ID != "svc-ch-nord" {
		t.Fatalf("after choosing: step %s, est %s %q, services %+v", m.Step, m.Establishment, m.EstablishmentName, m.Services)
	}
	if st := m.FormState(); st.Establishment != "ch-nord" {
		t.Errorf("the form state forgets the establishment: %+v", st)
	}
	run(m, b, Action{Kind: ChangeEstablishment})
	if m.Step != StepEstablishment || m.Establishment != "" || len(m.Services) != 0 {
		t.Fatalf("after change: step %s, est %q", m.Step, m.Establishment)
	}
	// Appointments say where they are.
	c := &Booking{M: m}
	line := c.AppointmentLine(portal.Appointment{Establishment: "ch-nord", ServiceName: portal.Text{FR: "Cardiologie"}, Practitioner: portal.Practitioner{Name: "Dr A"}})
	if !strings.HasPrefix(line, "CH Nord · ") {
		t.Errorf("appointment line %q", line)
	}
	// A widget given an establishment is not merged.
	if one := NewModel("fr", "chu-exemple", "", ""); one.Merged || one.Step != StepService {
		t.Errorf("given an establishment: merged %v, step %s", one.Merged, one.Step)
	}
}

// sessionBackend has a session opened outside the widget (nil: nobody).
type sessionBackend struct {
	Backend
	patient *portal.Patient
	err     error
}

func (b sessionBackend) CurrentPatient(context.Context) (*portal.Patient, error) {
	return b.patient, b.err
}
func (sessionBackend) Appointments(context.Context) ([]portal.Appointment, error) {
	return []portal.Appointment{{ID: "apt-1"}}, nil
}

func TestSessionChanged(t *testing.T) {
	t.Run("nobody", func(t *testing.T) {
		m := loadedModel()
		m.Step = StepMine
		run(m, sessionBackend{}, Action{Kind: SessionChanged})
		if m.Loading || m.Patient != nil || m.Err != "" || m.Step != StepMine || m.Notice != "" {
			t.Fatalf("loading %v patient %v err %q step %s notice %q", m.Loading, m.Patient, m.Err, m.Step, m.Notice)
		}
	})
	t.Run("signed in elsewhere", func(t *testing.T) {
		m := loadedModel()
		m.Step = StepMine
		run(m, sessionBackend{patient: &portal.Patient{ID: "pat-a"}}, Action{Kind: SessionChanged})
		if m.Loading || m.Patient == nil || m.Patient.ID != "pat-a" || m.Step != StepMine || len(m.Mine) != 1 {
			t.Fatalf("loading %v patient %v step %s mine %v", m.Loading, m.Patient, m.Step, m.Mine)
		}
	})
	t.Run("confirm step stays", func(t *testing.T) {
		m := loadedModel()
		m.Step, m.Slot = StepConfirm, portal.Slot{ID: "sl-1"}
		run(m, sessionBackend{patient: &portal.Patient{ID: "pat-a"}}, Action{Kind: SessionChanged})
		if m.Patient == nil || m.Step != StepConfirm || m.Slot.ID != "sl-1" || m.Notice != "signed-in" {
			t.Fatalf("patient %v step %s slot %q notice %q", m.Patient, m.Step, m.Slot.ID, m.Notice)
		}
	})
	t.Run("failure", func(t *testing.T) {
		m := loadedModel()
		run(m, sessionBackend{err: portal.Errorf(portal.ErrBackendUnavailable, "down")}, Action{Kind: SessionChanged})
		if m.Loading || m.Err != portal.ErrBackendUnavailable || m.retry == nil || m.retry.Kind != SessionChanged {
			t.Fatalf("loading %v err %q retry %v", m.Loading, m.Err, m.retry)
		}
	})
}

func TestSignInLinksSurviveTheSnapshot(t *testing.T) {
	m := loadedModel()
	m.SignIn = []widgets.SignInLink{{Kind: "patient", Label: [2]string{"Se connecter", "Sign in"}, URL: "/auth/signin?provider=x"}}
	b, err := json.Marshal(m.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	h := NewModel("fr", "chu-exemple", "", "")
	h.Hydrate(&s)
	if len(h.SignIn) != 1 || h.SignIn[0] != m.SignIn[0] {
		t.Fatalf("hydrated links %v", h.SignIn)
	}
}

// slotsByPractitioner answers each practitioner's own slot (p1's for "any")
// and records the queries it was asked; the practitioners in fail fail.
type slotsByPractitioner struct {
	Backend
	asked []portal.SlotQuery
	fail  map[string]bool
}

func (b *slotsByPractitioner) FreeSlots(_ context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	b.asked = append(b.asked, q)
	if b.fail[q.Practitioner] {
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "down")
	}
	p := cmp.Or(q.Practitioner, "p1")
	return []portal.Slot{slotAt("slot-"+p, p, q.From.Add(48*time.Hour))}, nil
}

// TestAnOlderSlotsAnswerNeverOverwritesANewer: two loads in flight (the
// practitioner changed, days paged), the older answering last: the slots
// shown are the newer choice's, and the older's failure is not shown.
func TestAnOlderSlotsAnswerNeverOverwritesANewer(t *testing.T) {
	m := NewModel("fr", "chu-exemple", "", "")
	m.Apply(Action{Kind: loaded, forEst: m.Establishment, services: []portal.Service{{ID: "maternite", Practitioners: []portal.Practitioner{{ID: "p1"}, {ID: "p2"}}}}})
	b := &slotsByPractitioner{fail: map[string]bool{}}
	anyone := m.Apply(Action{Kind: ChooseService, ID: "maternite"})
	p2 := m.Apply(Action{Kind: ChoosePractitioner, ID: "p2"})
	// The first call runs after the patient chose p2: it still asks for
	// what was chosen when it was made.
	old := anyone(context.Background(), b)
	if len(b.asked) != 1 || b.asked[0].Practitioner != "" {
		t.Fatalf("the first load asked %+v, want any practitioner", b.asked)
	}
	m.Apply(p2(context.Background(), b))
	m.Apply(old)
	if len(m.Days) != 1 || m.Days[0].Slots[0].ID != "slot-p2" || m.Practitioner != "p2" || m.Loading {
		t.Fatalf("p2 chosen, shown %+v (loading %v)", m.Days, m.Loading)
	}
	if m.Apply(Action{Kind: ChooseSlot, ID: "slot-p1"}); m.Step == StepConfirm {
		t.Fatalf("the older answer's slot was chosen: %+v", m.Slot)
	}

	// The older one fails: nothing of it shows.
	b.fail["p2"] = true
	older := m.Apply(Action{Kind: ChoosePractitioner, ID: "p2"})
	newer := m.Apply(Action{Kind: ChoosePractitioner, ID: ""})
	m.Apply(newer(context.Background(), b))
	m.Apply(older(context.Background(), b))
	if m.Err != "" || len(m.Days) != 1 || m.Days[0].Slots[0].ID != "slot-p1" {
		t.Fatalf("after the older load failed: err %q, days %+v", m.Err, m.Days)
	}

	// A load left by going back is dropped, and the widget is not busy.
	late := m.Apply(Action{Kind: LaterDays})
	m.Apply(Action{Kind: Back})
	m.Apply(late(context.Background(), b))
	if m.Loading || m.Step != StepService || m.Err != "" {
		t.Fatalf("after going back: loading %v, step %s, err %q", m.Loading, m.Step, m.Err)
	}
}

// mineOf is a host whose session is patient's; with down, their
// appointments cannot be listed.
type mineOf struct {
	Backend
	patient string
	down    bool
}

func (b mineOf) CurrentPatient(context.Context) (*portal.Patient, error) {
	return &portal.Patient{ID: b.patient}, nil
}
func (b mineOf) Appointments(context.Context) ([]portal.Appointment, error) {
	if b.down {
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "down")
	}
	return []portal.Appointment{{ID: "apt-of-" + b.patient}}, nil
}
func (b mineOf) Cancel(context.Context, string) (portal.Appointment, error) {
	return portal.Appointment{}, portal.Errorf(portal.ErrUnauthenticated, "expired")
}

// TestAnotherPatientsAppointmentsNeverShow: the next patient on the device
// never sees the previous one's appointments: not from a list that
// answered after the sign-out, nor from one left by an expired session,
// while their own list loads or after it failed.
func TestAnotherPatientsAppointmentsNeverShow(t *testing.T) {
	ctx := context.Background()
	shows := func(m *Model, id string) bool {
		return slices.ContainsFunc(m.Mine, func(a portal.Appointment) bool { return a.ID == id })
	}
	t.Run("answer after the sign-out", func(t *testing.T) {
		m := loadedModel()
		m.Patient = &portal.Patient{ID: "pat-a"}
		late := m.Apply(Action{Kind: ShowMine})
		m.Apply(Action{Kind: signedOut})
		m.Apply(late(ctx, mineOf{patient: "pat-a"}))
		m.Apply(Action{Kind: ShowMine})
		run(m, mineOf{patient: "pat-b", down: true}, Action{Kind: SessionChanged})
		if m.Patient == nil || m.Patient.ID != "pat-b" || shows(m, "apt-of-pat-a") {
			t.Fatalf("patient %v sees %+v", m.Patient, m.Mine)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		m := loadedModel()
		m.Patient = &portal.Patient{ID: "pat-a"}
		run(m, mineOf{patient: "pat-a"}, Action{Kind: ShowMine})
		if !shows(m, "apt-of-pat-a") {
			t.Fatalf("A's list: %+v", m.Mine)
		}
		run(m, mineOf{patient: "pat-a"}, Action{Kind: CancelAppointment, ID: "apt-of-pat-a"})
		if m.Patient != nil {
			t.Fatal("the expired session is still signed in")
		}
		cmd := m.Apply(Action{Kind: SessionChanged})
		next := m.Apply(cmd(ctx, mineOf{patient: "pat-b"}))
		if m.Patient == nil || m.Patient.ID != "pat-b" || shows(m, "apt-of-pat-a") {
			t.Fatalf("while B's list loads, B sees %+v", m.Mine)
		}
		m.Apply(next(ctx, mineOf{patient: "pat-b", down: true}))
		if shows(m, "apt-of-pat-a") {
			t.Fatalf("after B's list failed, B sees %+v", m.Mine)
		}
	})
}

// TestALeftEstablishmentsAnswerIsDropped: in a merged widget the patient
// chooses one establishment, changes their mind before it answered and
// chooses another: the first one answering last shows neither its name nor
// its services over the one chosen (where the booking would go).
func TestALeftEstablishmentsAnswerIsDropped(t *testing.T) {
	b := twoEstablishments{}
	m := NewModel("fr", "", "", "")
	run(m, b, Action{Kind: Start})
	slow := m.Apply(Action{Kind: ChooseEstablishment, ID: "chu-exemple"})
	m.Apply(Action{Kind: ChangeEstablishment})
	if m.Loading {
		t.Fatal("the list of establishments waits for the one left")
	}
	fast := m.Apply(Action{Kind: ChooseEstablishment, ID: "ch-nord"})
	m.Apply(fast(context.Background(), b))
	m.Apply(slow(context.Background(), b))
	if m.Establishment != "ch-nord" || m.EstablishmentName != "CH Nord" || len(m.Services) != 1 || m.Services[0].ID != "svc-ch-nord" || m.Loading {
		t.Fatalf("ch-nord chosen, shown %q with %+v (loading %v)", m.EstablishmentName, m.Services, m.Loading)
	}
	// Its failure does not show either.
	slow = m.Apply(Action{Kind: ChangeEstablishment})
	slow = m.Apply(Action{Kind: ChooseEstablishment, ID: "chu-exemple"})
	m.Apply(Action{Kind: ChangeEstablishment})
	fast = m.Apply(Action{Kind: ChooseEstablishment, ID: "ch-nord"})
	m.Apply(fast(context.Background(), b))
	m.Apply(slow(context.Background(), failing{b}))
	if m.Err != "" || m.EstablishmentName != "CH Nord" {
		t.Fatalf("the left establishment's failure shows: %q over %q", m.Err, m.EstablishmentName)
	}
}

// failing is a host whose every establishment is down.
type failing struct{ twoEstablishments }

func (failing) Establishment(context.Context, string) (portal.Establishment, error) {
	return portal.Establishment{}, portal.Errorf(portal.ErrBackendUnavailable, "down")
}

// demoHost records whom it was asked to sign in.
type demoHost struct {
	Backend
	asked *[]string
}

func (h demoHost) DemoSignIn(_ context.Context, id string) (portal.Patient, error) {
	*h.asked = append(*h.asked, id)
	return portal.Patient{ID: id}, nil
}

// TestSignInIsForThePatientChosenWhenPressed: the demo patient chosen in
// the select after pressing "sign in" (the call not yet made) does not
// change whom the press signs in.
func TestSignInIsForThePatientChosenWhenPressed(t *testing.T) {
	m := loadedModel()
	m.Apply(Action{Kind: ChooseDemoPatient, ID: "pat-a"})
	cmd := m.Apply(Action{Kind: SignIn})
	m.Apply(Action{Kind: ChooseDemoPatient, ID: "pat-b"})
	var asked []string
	m.Apply(cmd(context.Background(), demoHost{asked: &asked}))
	if len(asked) != 1 || asked[0] != "pat-a" || m.Patient == nil || m.Patient.ID != "pat-a" {
		t.Fatalf("asked %v, signed in %v", asked, m.Patient)
	}
}
