package fhir_test

import (
	"context"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestRecipient: a notification goes to the Patient's e-mail (the home one
// first) or to the HealthcareService's; none, or a malformed one, is no
// address.
func TestRecipient(t *testing.T) {
	base := fhirtest.Start(t)
	b, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient","id":"pat-mail","telecom":[{"system":"phone","value":"0600000000"},{"system":"email","use":"work","value":"work@example.org"},{"system":"email","use":"home","value":"home@example.org"}]},"request":{"method":"PUT","url":"Patient/pat-mail"}},
	 {"resource":{"resourceType":"Patient","id":"pat-nomail","telecom":[{"system":"email","value":"not an address"}]},"request":{"method":"PUT","url":"Patient/pat-nomail"}},
	 {"resource":{"resourceType":"HealthcareService","id":"svc-mail","telecom":[{"system":"email","value":"equipe@example.org"}]},"request":{"method":"PUT","url":"HealthcareService/svc-mail"}}]}`
	if _, err := b.LoadBundle(ctx, []byte(bundle)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    portal.Notification
		want string
		ok   bool
	}{
		{portal.Notification{Recipient: portal.AuthorPatient, Patient: "pat-mail"}, "home@example.org", true},
		{portal.Notification{Recipient: portal.AuthorPatient, Patient: "pat-nomail"}, "", false},
		{portal.Notification{Recipient: portal.AuthorPatient, Patient: "pat-unknown"}, "", false},
		{portal.Notification{Recipient: portal.AuthorPractitioner, Service: "svc-mail"}, "equipe@example.org", true},
		{portal.Notification{Recipient: portal.AuthorPractitioner, Service: "bad id!"}, "", false},
	} {
		got, ok, err := b.Recipient(ctx, c.n)
		if err != nil || got != c.want || ok != c.ok {
			t.Errorf("Recipient(%+v) = %q %v %v, want %q %v", c.n, got, ok, err, c.want, c.ok)
		}
	}
}
