package portal_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Every failure carries a code; the HTTP status and the patient-facing
// message come from one table shared by the host and the client.
func ExampleErrorCode_Message() {
	err := portal.Errorf(portal.ErrSlotUnavailable, "slot %s", "sl-claire-martin-20261124T0900")
	code := portal.Code(err)
	fmt.Println(code, code.Status())
	fmt.Println(code.Message("fr"))
	fmt.Println(code.Message("en"))
	// Output:
	// slot_unavailable 409
	// Ce créneau vient d'être réservé. Veuillez en choisir un autre.
	// This slot has just been taken. Please choose another one.
}

func ExampleCode() {
	fmt.Println(portal.Code(nil) == "")
	fmt.Println(portal.Code(fmt.Errorf("booking: %w", portal.Errorf(portal.ErrNotFound, "apt_x"))))
	fmt.Println(portal.Code(errors.New("disk full")))
	// Output:
	// true
	// not_found
	// internal
}

// The patient a call acts for travels in the context, put there by the host
// from the session, never taken from a request body.
func ExampleWithSubject() {
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: "pat-camille-durand"})
	id, err := portal.RequirePatient(ctx)
	fmt.Println(id, err)
	_, err = portal.RequirePatient(context.Background())
	fmt.Println(portal.Code(err))
	// Output:
	// pat-camille-durand <nil>
	// unauthenticated
}

func ExampleSlotQuery_Validate() {
	from := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	q := portal.SlotQuery{Establishment: "chu-exemple", Service: "maternite", From: from, To: from.AddDate(0, 0, 14)}
	fmt.Println(q.Validate())
	q.To = from.AddDate(0, 6, 0)
	fmt.Println(q.Validate())
	// Output:
	// <nil>
	// invalid_request: the period may not exceed 62 days
}

func ExampleText_In() {
	name := portal.Text{FR: "Maternité", EN: "Maternity"}
	fmt.Println(name.In("fr"), "/", name.In("en"), "/", portal.Text{FR: "Sage-femme"}.In("en"))
	// Output: Maternité / Maternity / Sage-femme
}
