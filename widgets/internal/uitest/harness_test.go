//go:build !(js && wasm)

package uitest_test

import (
	"context"
	"testing"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
)

// counter answers every request and counts them.
type counter struct{ n int }

func (c *counter) Do(context.Context, *client.Request) (*client.Response, error) {
	c.n++
	return &client.Response{}, nil
}

func TestFlaky(t *testing.T) {
	next := &counter{}
	f := &uitest.Flaky{Transport: next}
	for _, tc := range []struct {
		name              string
		down, loseAnswers bool
		ok                bool
		reached           int // requests that reach the host, in all
	}{
		{"up", false, false, true, 1},
		{"down", true, false, false, 1},
		{"answers lost", false, true, false, 2},
		{"up again", false, false, true, 3},
	} {
		f.Down.Store(tc.down)
		f.LoseAnswers.Store(tc.loseAnswers)
		resp, err := f.Do(context.Background(), &client.Request{Method: "GET"})
		if (err == nil && resp != nil) != tc.ok || next.n != tc.reached {
			t.Errorf("%s: %v, %v, %d requests reached the host; want ok=%v, %d", tc.name, resp, err, next.n, tc.ok, tc.reached)
		}
	}
}
