package pipeline

import (
	"github.com/feedbackhub/feedbackhub/connectors"
)

// NewRegistry returns the registry of every connector this binary has. It is the one
// place connectors are wired; nothing registers itself.
func NewRegistry() (*connectors.Registry, error) {
	r := connectors.NewRegistry()
	for kind, f := range map[string]connectors.Factory{} {
		if err := r.Register(kind, f); err != nil {
			return nil, err
		}
	}
	return r, nil
}
