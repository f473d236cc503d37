//go:build !(js && wasm)

package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

// demoHost runs a host in-process on the demo SQLite database, with the
// demo sign-in, at the clock now; in production the base URL is the
// establishment's Parcours host. stop shuts it down.
func demoHost(now func() time.Time) (url string, stop func()) {
	ctx := context.Background()
	store, _ := sqlite.Open(ctx, ":memory:", sqlite.WithClock(now))
	store.Seed(ctx, now())
	h, _ := host.New(host.Config{
		Booking: store, Directory: store, Questionnaires: store, Documents: store.Documents(), CareTeam: store,
		DemoSignIn: true, Now: now,
		Establishments: []host.Establishment{{ID: "chu-exemple"}},
		Logger:         slog.New(slog.DiscardHandler),
	})
	srv := httptest.NewServer(h)
	return srv.URL, func() {
		srv.Close()
		h.Close()
		store.Close()
	}
}

// An integrator books through the host's API as a widget does.
func ExampleClient_Book() {
	ctx := context.Background()
	paris, _ := time.LoadLocation("Europe/Paris")
	now := func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, paris) } // a Monday morning
	url, stop := demoHost(now)
	defer stop()

	c := client.New(url)
	services, _ := c.Services(ctx, "chu-exemple")
	for _, s := range services {
		fmt.Println("service:", s.Name.In("fr"))
	}
	slots, _ := c.FreeSlots(ctx, portal.SlotQuery{
		Establishment: "chu-exemple", Service: "maternite", Practitioner: "pr-claire-martin",
		From: now(), To: now().AddDate(0, 0, 7),
	})
	fmt.Println("first free slot:", slots[0].Start.Format("Mon 2 Jan 15:04 -07:00"))

	// Booking needs a session: here the demo sign-in.
	if _, err := c.DemoSignIn(ctx, "pat-camille-durand"); err != nil {
		fmt.Println(err)
		return
	}
	req := portal.BookRequest{Establishment: "chu-exemple", Service: "maternite", Slot: slots[0].ID, IdempotencyKey: "example-booking-1"}
	apt, _ := c.Book(ctx, req)
	again, _ := c.Book(ctx, req) // a retry: the same appointment, not a second one
	fmt.Println(apt.Status, apt.Practitioner.Name, apt.ID == again.ID)

	_, err := c.Book(ctx, portal.BookRequest{Establishment: "chu-exemple", Service: "maternite", Slot: slots[0].ID, IdempotencyKey: "example-booking-2"})
	fmt.Println(portal.Code(err))
	// Output:
	// service: Maternité
	// service: Diabétologie
	// service: Consultations externes
	// first free slot: Mon 23 Nov 09:00 +01:00
	// booked Claire Martin true
	// slot_unavailable
}

// A patient answers a questionnaire as the questionnaire widget does: the
// engine reads the Questionnaire and writes the answers as a FHIR
// QuestionnaireResponse, the host keeps a draft, then scores the submission
// itself.
func ExampleClient_SubmitResponse() {
	ctx := context.Background()
	url, stop := demoHost(time.Now)
	defer stop()

	c := client.New(url)
	def, _ := c.Questionnaire(ctx, "chu-exemple", "gad-7")
	q, _, err := questionnaire.Parse(def.Resource)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.Title.In("en"))
	if _, err := c.DemoSignIn(ctx, "pat-lucas-bernard"); err != nil {
		fmt.Println(err)
		return
	}
	// "Several days" (weight 1) to every question.
	answers := questionnaire.NewAnswers()
	q.Walk(func(it *questionnaire.Item) bool {
		for _, o := range it.Options {
			if o.Scored && o.Weight.String() == "1" {
				answers.Set(it.LinkID, o.Value)
			}
		}
		return true
	})
	response, _ := q.ResponseJSON(answers, questionnaire.ResponseOptions{})
	if _, err := c.SaveDraft(ctx, "chu-exemple", "gad-7", response); err != nil {
		fmt.Println(err)
		return
	}
	sub, err := c.SubmitResponse(ctx, "chu-exemple", "gad-7", response, "example-gad7-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sub.Result.Total, sub.Result.Level, sub.Result.LevelRank, "of", sub.Result.Levels)
	_, err = c.Draft(ctx, "chu-exemple", "gad-7") // submitting deleted the draft
	fmt.Println(portal.Code(err))
	// Output:
	// Generalized Anxiety Disorder scale (GAD-7)
	// 7 mild 2 of 4
	// not_found
}

// A patient's results, as the documents widget shows them: a count, a
// trend, and a result held back until the care team releases it.
func ExampleClient_Trend() {
	ctx := context.Background()
	paris, _ := time.LoadLocation("Europe/Paris")
	now := func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, paris) }
	url, stop := demoHost(now)
	defer stop()

	c := client.New(url)
	if _, err := c.DemoSignIn(ctx, "pat-lucas-bernard"); err != nil {
		fmt.Println(err)
		return
	}
	count, _ := c.CountDocuments(ctx, "chu-exemple", portal.DocumentFilter{})
	fmt.Println(count.Total, "documents,", count.New, "new")
	tr, _ := c.Trend(ctx, "chu-exemple", "4548-4")
	fmt.Printf("%s: %d results, reference %.1f–%.1f %s\n", tr.Display.In("en"), len(tr.Points), *tr.Low, *tr.High, tr.Unit)
	last := tr.Points[len(tr.Points)-1]
	fmt.Println("latest:", last.FormatValue(), last.Unit, last.Interpretation, last.Effective.Format("2 Jan 2006"))

	// The biopsy report is held back: for the patient, it does not exist.
	_, err := c.Document(ctx, "doc-demo-biopsie-renale")
	fmt.Println(portal.Code(err))
	team := client.New(url)
	if _, err := team.DemoPractitionerSignIn(ctx, "pr-julien-roux"); err != nil {
		fmt.Println(err)
		return
	}
	rel, _ := team.ReleaseDocument(ctx, "doc-demo-biopsie-renale")
	fmt.Println(rel.Release, "by", rel.ReleasedBy.Name)
	doc, _ := c.Document(ctx, "doc-demo-biopsie-renale")
	fmt.Println(doc.Title, "— new:", doc.New)
	// Output:
	// 14 documents, 2 new
	// Glycated haemoglobin (HbA1c): 12 results, reference 4.0–6.0 %
	// latest: 6.9 % H 19 Nov 2026
	// not_found
	// released by Julien Roux
	// Examen anatomopathologique — biopsie rénale — new: true
}
