//go:build !(js && wasm)

package booking_test

import (
	"context"
	"html"
	"strings"
	"sync"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
)

// harness runs the booking component as the browser does (event handlers
// under the write lock, calls in goroutines) against a real host.
type harness struct {
	*uitest.Harness[*booking.Booking]
	url  string
	mu2  sync.Mutex
	sent []booking.Event
}

func newHarness(t *testing.T, lang, service string, practitioner ...string) *harness {
	t.Helper()
	url, _ := testhost.Start(t, nil)
	hs := &harness{Harness: uitest.NewHarness(t, nil, status), url: url}
	hs.Start(&booking.Booking{
		M:       booking.NewModel(lang, sqlite.DemoEstablishment, service, strings.Join(practitioner, "")),
		Backend: hs.Client(url, lang),
		Emit: func(e booking.Event) {
			hs.mu2.Lock()
			hs.sent = append(hs.sent, e)
			hs.mu2.Unlock()
		},
	})
	return hs
}

func status(c *booking.Booking) uitest.Status {
	return uitest.Status{Loading: c.M.Loading, Err: string(c.M.Err), ErrText: c.M.ErrText}
}

func (hs *harness) wantHTML(parts ...string) {
	hs.T.Helper()
	hs.WantHTML("rendered widget", parts...)
}

func (hs *harness) firstSlot() portal.Slot {
	hs.T.Helper()
	if len(hs.Comp.M.Days) == 0 || len(hs.Comp.M.Days[hs.Comp.M.Day].Slots) == 0 {
		hs.T.Fatal("no slot shown")
	}
	return hs.Comp.M.Days[hs.Comp.M.Day].Slots[0]
}

func TestBookAndCancel(t *testing.T) {
	hs := newHarness(t, "fr", sqlite.ServiceMaternite)
	m := hs.Comp.M
	if m.Step != booking.StepSlots || m.Service != sqlite.ServiceMaternite {
		t.Fatalf("step %s service %q, want the preset service's slots", m.Step, m.Service)
	}
	if m.EstablishmentName != "CHU Exemple" || len(m.Days) < 5 {
		t.Fatalf("establishment %q, %d days of slots", m.EstablishmentName, len(m.Days))
	}
	hs.wantHTML(`aria-busy="false"`, "Maternité", "Indifférent", `class="pc-slot"`)

	// "Any practitioner" shows one button per time.
	for _, d := range m.Days {
		for i := 1; i < len(d.Slots); i++ {
			if d.Slots[i].Start.Equal(d.Slots[i-1].Start) {
				t.Fatalf("two slots at %s on one day", d.Slots[i].Start)
			}
		}
	}
	// A practitioner filter keeps that practitioner's slots.
	hs.Do(string(booking.ChoosePractitioner), "pr-claire-martin")
	for _, d := range hs.Comp.M.Days {
		for _, s := range d.Slots {
			if s.Practitioner != "pr-claire-martin" {
				t.Fatalf("slot %s of %s with the filter on Claire Martin", s.ID, s.Practitioner)
			}
		}
	}
	hs.Do(string(booking.ChooseDay), hs.Comp.M.Days[1].Key())
	if hs.Comp.M.Day != 1 {
		t.Fatalf("day %d after choosing the second", hs.Comp.M.Day)
	}
	slot := hs.firstSlot()
	hs.Do(string(booking.ChooseSlot), slot.ID)
	if m.Step != booking.StepConfirm {
		t.Fatalf("step %s, want confirm", m.Step)
	}
	hs.wantHTML("Vérifiez votre rendez-vous", "Connexion de démonstration", "Claire Martin, Sage-femme")
	// Confirming needs a patient; the demo sign-in comes first.
	hs.Do(string(booking.Confirm), "")
	if m.Step != booking.StepConfirm {
		t.Fatal("confirmed without a signed-in patient")
	}
	hs.Do(string(booking.ChooseDemoPatient), sqlite.DemoPatientInesMoreau)
	hs.Do(string(booking.SignIn), "")
	if m.Patient == nil || m.Patient.ID != sqlite.DemoPatientInesMoreau {
		t.Fatalf("signed in as %v", m.Patient)
	}
	hs.Do(string(booking.Confirm), "")
	if m.Step != booking.StepDone || m.Appointment.Slot != slot.ID || m.Appointment.Status != portal.StatusBooked {
		t.Fatalf("step %s, appointment %+v", m.Step, m.Appointment)
	}
	hs.wantHTML("Rendez-vous confirmé", "/api/v1/appointments/"+m.Appointment.ID+"/calendar.ics", "Votre rendez-vous est confirmé.")
	if len(hs.sent) != 1 || hs.sent[0].Name != "parcours:booked" || hs.sent[0].Appointment != m.Appointment.ID {
		t.Fatalf("events %+v, want one parcours:booked", hs.sent)
	}

	hs.Do(string(booking.ShowMine), "")
	if len(m.Mine) != 1 || m.Mine[0].ID != m.Appointment.ID {
		t.Fatalf("my appointments %+v", m.Mine)
	}
	hs.Do(string(booking.AskCancel), m.Appointment.ID)
	hs.wantHTML("Voulez-vous vraiment annuler ce rendez-vous ?")
	hs.Do(string(booking.CancelAppointment), m.Appointment.ID)
	if m.Mine[0].Status != portal.StatusCancelled {
		t.Fatalf("status %s after cancel", m.Mine[0].Status)
	}
	hs.wantHTML(`data-status="cancelled"`, "Annulé")
	if len(hs.sent) != 2 || hs.sent[1].Name != "parcours:cancelled" {
		t.Fatalf("events %+v, want parcours:cancelled second", hs.sent)
	}
}

// TestSlotTakenMeanwhile: another patient books the chosen slot before the
// confirmation; the widget says so and shows fresh slots without it.
func TestSlotTakenMeanwhile(t *testing.T) {
	hs := newHarness(t, "fr", sqlite.ServiceDiabetologie)
	slot := hs.firstSlot()
	hs.Do(string(booking.ChooseSlot), slot.ID)
	hs.Do(string(booking.SignIn), "")

	other := client.New(hs.url)
	if _, err := other.DemoSignIn(context.Background(), sqlite.DemoPatientLucasBernard); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Book(context.Background(), portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie, Slot: slot.ID, IdempotencyKey: "other-patient-1"}); err != nil {
		t.Fatal(err)
	}
	hs.Do(string(booking.Confirm), "")
	m := hs.Comp.M
	if m.Step != booking.StepSlots || m.Err != portal.ErrSlotUnavailable {
		t.Fatalf("step %s, error %q; want back to the slots with slot_unavailable", m.Step, m.Err)
	}
	for _, d := range m.Days {
		for _, s := range d.Slots {
			if s.ID == slot.ID {
				t.Fatal("the taken slot is still offered")
			}
		}
	}
	hs.wantHTML(`role="alert"`, html.EscapeString(portal.ErrSlotUnavailable.Message("fr")))
}

// TestNetworkFailureAndRetry: a failed call shows a clear message with a
// retry that works once the network is back; booking twice is impossible.
func TestNetworkFailureAndRetry(t *testing.T) {
	hs := newHarness(t, "en", sqlite.ServiceConsultations)
	slot := hs.firstSlot()
	hs.Do(string(booking.ChooseSlot), slot.ID)
	hs.Do(string(booking.SignIn), "")
	hs.Net.Down.Store(true)
	hs.Do(string(booking.Confirm), "")
	m := hs.Comp.M
	if m.Err != portal.ErrBackendUnavailable || !hs.Comp.CanRetry() {
		t.Fatalf("error %q, retry %v", m.Err, hs.Comp.CanRetry())
	}
	hs.wantHTML(html.EscapeString(portal.ErrBackendUnavailable.Message("en")), "Try again")
	hs.Net.Down.Store(false)
	hs.Do(string(booking.Retry), "")
	if m.Step != booking.StepDone || m.Err != "" {
		t.Fatalf("after retry: step %s, error %q", m.Step, m.Err)
	}
	// The retry reused the booking's idempotency key: one appointment.
	list, err := hs.Comp.Backend.Appointments(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("appointments %v, %v; want exactly one", list, err)
	}
}

// TestFirstPaint: before any call the widget renders its loading skeleton,
// busy for assistive technology, as the host serves it.
func TestFirstPaint(t *testing.T) {
	for _, tc := range []struct{ lang, title string }{{"fr", "Prendre rendez-vous"}, {"en", "Book an appointment"}} {
		t.Run(tc.lang, func(t *testing.T) {
			comp := &booking.Booking{M: booking.NewModel(tc.lang, "chu-exemple", "maternite", "")}
			h := uitest.NewEnv().Render(t, comp)
			for _, want := range []string{`<section id="` + booking.MountID + `"`, `aria-busy="true"`, `class="pc-skeleton"`, tc.title, `lang="` + tc.lang + `"`} {
				if !strings.Contains(h, want) {
					t.Errorf("first paint lacks %q", want)
				}
			}
		})
	}
}

// TestPresetPractitioner: the element's practitioner attribute preselects a
// practitioner of the preset service; an unknown one is ignored.
func TestPresetPractitioner(t *testing.T) {
	hs := newHarness(t, "fr", sqlite.ServiceMaternite, "pr-sophie-lefebvre")
	if hs.Comp.M.Practitioner != "pr-sophie-lefebvre" {
		t.Fatalf("practitioner %q", hs.Comp.M.Practitioner)
	}
	for _, d := range hs.Comp.M.Days {
		for _, s := range d.Slots {
			if s.Practitioner != "pr-sophie-lefebvre" {
				t.Fatalf("slot of %s shown", s.Practitioner)
			}
		}
	}
	hs.wantHTML(`<option selected="selected" value="pr-sophie-lefebvre">`)
	if other := newHarness(t, "fr", sqlite.ServiceMaternite, "pr-julien-roux"); other.Comp.M.Practitioner != "" {
		t.Errorf("a practitioner of another service was preselected: %q", other.Comp.M.Practitioner)
	}
}

var signInLinks = []widgets.SignInLink{
	{Kind: "patient", Label: [2]string{"Se connecter avec ProSanté Connect patient", "Sign in as a patient"}, URL: "http://127.0.0.1/auth/signin?provider=idp&return=%2Fw%2Fbooking"},
	{Kind: "practitioner", Label: [2]string{"Connexion professionnelle", "Practitioner sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=pro"},
}

// TestSignInLinks: both sign-in panels (confirm and "mine") show the host's
// patient sign-in buttons for the frame's popup, with the hidden button the
// frame presses once the popup signed in; none without links.
func TestSignInLinks(t *testing.T) {
	hs := newHarness(t, "en", sqlite.ServiceMaternite)
	hs.Do(string(booking.ShowMine), "")
	h := hs.Render()
	if strings.Contains(h, "data-parcours-signin") {
		t.Error("a sign-in link without any")
	}
	hs.wantHTML(`value="session-changed"`, `hidden="" data-parcours-session-changed=""`, "Refresh session")

	hs.Comp.M.SignIn = signInLinks
	h = hs.WantHTML("mine", `target="_blank" rel="opener" data-parcours-signin="" data-kind="patient" href="`+html.EscapeString(signInLinks[0].URL)+`"`, ">Sign in as a patient</a>", "Demo patient")
	if strings.Contains(h, "Practitioner sign-in") || strings.Count(h, "data-parcours-signin=") != 1 {
		t.Error("the booking shows another sign-in than the patients'")
	}

	hs.Do(string(booking.BackToBooking), "")
	hs.Do(string(booking.ChooseSlot), hs.firstSlot().ID)
	h = hs.WantHTML("confirm", `data-parcours-signin=""`, "data-parcours-session-changed")
	if strings.Count(h, "data-parcours-signin=") != 1 || strings.Count(h, "data-parcours-session-changed") != 1 {
		t.Error("the confirm step's panel shows its buttons other than once")
	}
}

// TestSessionChanged: a session opened outside the widget (the frame's
// sign-in popup) is taken when the frame presses "session-changed": the
// patient's appointments are listed; with nobody signed in, nothing changes.
func TestSessionChanged(t *testing.T) {
	hs := newHarness(t, "fr", sqlite.ServiceMaternite)
	m := hs.Comp.M
	hs.Do(string(booking.ShowMine), "")
	hs.Do(string(booking.SessionChanged), "")
	hs.WantNoError()
	if m.Patient != nil || m.Step != booking.StepMine || m.Loading || len(m.Mine) != 0 {
		t.Fatalf("nobody signed in: patient %v step %s loading %v", m.Patient, m.Step, m.Loading)
	}

	// The popup signs in on the frame's cookie jar and books behind the
	// widget's back.
	ctx := context.Background()
	other := hs.Client(hs.url, "fr")
	if _, err := other.DemoSignIn(ctx, sqlite.DemoPatientInesMoreau); err != nil {
		t.Fatal(err)
	}
	slot := hs.firstSlot()
	apt, err := other.Book(ctx, portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID, IdempotencyKey: "bk-session-changed-test-0001"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Do(string(booking.SessionChanged), "")
	hs.WantNoError()
	if m.Patient == nil || m.Patient.ID != sqlite.DemoPatientInesMoreau || m.Step != booking.StepMine || len(m.Mine) != 1 || m.Mine[0].ID != apt.ID {
		t.Fatalf("patient %v step %s mine %v", m.Patient, m.Step, m.Mine)
	}
	hs.wantHTML(`data-appointment="` + apt.ID + `"`)
	if h := hs.Render(); strings.Contains(h, "data-parcours-session-changed") {
		t.Error("the sign-in panel stays once signed in")
	}
}

// TestSessionChangedFormPost: without the Wasm, the hidden button posts the
// form: the host answers with the session of the request's cookie.
func TestSessionChangedFormPost(t *testing.T) {
	url, _ := testhost.Start(t, nil)
	b := client.New(url)
	ctx := context.Background()
	post := booking.Post{State: booking.FormState{Step: booking.StepMine}, Action: string(booking.SessionChanged)}
	m := booking.NewModel("fr", sqlite.DemoEstablishment, "", "")
	if s := booking.Serve(ctx, m, b, post); s == nil || s.Patient != nil || m.Err != "" || m.Step != booking.StepMine {
		t.Fatalf("nobody signed in: snapshot %v err %q step %s", s, m.Err, m.Step)
	}
	if _, err := b.DemoSignIn(ctx, sqlite.DemoPatientCamilleDurand); err != nil {
		t.Fatal(err)
	}
	m = booking.NewModel("fr", sqlite.DemoEstablishment, "", "")
	s := booking.Serve(ctx, m, b, post)
	if s == nil || s.Patient == nil || s.Patient.ID != sqlite.DemoPatientCamilleDurand || s.Step != booking.StepMine {
		t.Fatalf("snapshot %+v", s)
	}
}
