package host_test

import (
	"fmt"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestQuestionnaireSubmissionRateLimit: a patient's submissions (each may
// alert a care team) are bounded per hour; a retry is a submission like
// any other; another patient is not affected.
func TestQuestionnaireSubmissionRateLimit(t *testing.T) {
	th := questionnaireHost(t, nil)
	c := th.raw(t, camille)
	q := instrument(t, "phq-9")
	body := string(responseJSON(t, q, weighing(t, q, nil)))
	for i := range host.SubmissionsPerHour {
		if status, b := c.do("POST", phq9Path+"/responses", fhirPost(fmt.Sprintf("rate-key-%04d", i)), body); status != 201 {
			t.Fatalf("submission %d: %d %s", i+1, status, b)
		}
	}
	status, b := c.do("POST", phq9Path+"/responses", fhirPost("rate-key-over"), body)
	if status != 429 || errorCode(t, b) != portal.ErrRateLimited {
		t.Fatalf("submission %d: %d %s, want 429 rate_limited", host.SubmissionsPerHour+1, status, b)
	}
	if status, b := th.raw(t, lucas).do("POST", phq9Path+"/responses", fhirPost("rate-key-0000"), body); status != 201 {
		t.Errorf("another patient: %d %s, want 201", status, b)
	}
}
