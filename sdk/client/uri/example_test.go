package uri_test

import (
	"fmt"

	"github.com/parcours-sante/parcours/sdk/client/uri"
)

func Example() {
	q := uri.Values{}
	q.Set("service", "cardio logie")
	q.Set("from", "2026-11-24T09:30:00+01:00")
	fmt.Println("/api/v1/establishments/" + uri.PathEscape("chu/nord") + "/slots?" + q.Encode())
	// Output: /api/v1/establishments/chu%2Fnord/slots?from=2026-11-24T09%3A30%3A00%2B01%3A00&service=cardio+logie
}
