package host

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/messaging"
)

// TestMessagingWithoutWasm reads a thread through form posts, as before the
// Wasm runs or where WebAssembly is blocked: Camille opens her thread (the
// care team's answer shown, the thread marked read, as in the browser) and
// goes back; each screen is the one the Wasm takes over node for node.
// Another patient's thread opens nothing.
func TestMessagingWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	msgs := store.Messaging()
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = msgs, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	read, press := b.get, b.press
	hydrates := func(doc string) {
		t.Helper()
		model := messaging.NewModel(messaging.Patient, "fr", sqlite.DemoEstablishment, sqlite.ServiceMaternite)
		model.Hydrate(stateOf[messaging.Snapshot](t, doc))
		// The Wasm's backend is the API client (the attachments' addresses).
		wantHydrationMatches(t, &messaging.Messaging{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
	}
	camille := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	unread := func() int {
		threads, err := msgs.Threads(camille, sqlite.DemoEstablishment)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range threads {
			if th.ID == sqlite.DemoThreadMaternite {
				return th.Unread
			}
		}
		t.Fatal("Camille's thread is not listed")
		return 0
	}
	if unread() == 0 {
		t.Fatal("the care team's answer is already read")
	}

	list := read("/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	if !strings.Contains(list, `value="open:`+sqlite.DemoThreadMaternite+`"`) || !strings.Contains(list, `form="pc-form"`) {
		t.Fatalf("the threads are not buttons of the form:\n%s", firstPaint(t, list))
	}
	thread := press(list, "open:"+sqlite.DemoThreadMaternite)
	if !strings.Contains(thread, `data-screen="thread"`) || !strings.Contains(thread, "Fractionnez vos repas") {
		t.Fatalf("the thread is not open with the care team's answer:\n%s", firstPaint(t, thread))
	}
	hydrates(thread)
	if n := unread(); n != 0 {
		t.Errorf("%d unread after the thread was opened", n)
	}

	back := press(thread, "back")
	if !strings.Contains(back, `data-screen="list"`) || !strings.Contains(back, `value="open:`+sqlite.DemoThreadMaternite+`"`) {
		t.Fatalf("back is not the list:\n%s", firstPaint(t, back))
	}
	hydrates(back)

	// Lucas's thread is not Camille's: nothing of it is shown.
	other := press(list, "open:"+sqlite.DemoThreadDiabetologie)
	if !strings.Contains(other, `data-screen="list"`) || strings.Contains(other, "Glycémies élevées") || strings.Contains(other, "1,60 g/L") {
		t.Fatalf("another patient's thread:\n%s", firstPaint(t, other))
	}
	hydrates(other)
}
