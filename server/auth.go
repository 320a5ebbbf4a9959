package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/feedbackhub/feedbackhub/config"
)

type principalKey struct{}

// Principal is who an API request authenticated as.
type Principal struct {
	Name, Role string
}

// rank orders roles: each role may do what the ones before it may.
func rank(role string) int { return slices.Index(config.Roles, role) }

// PrincipalFrom returns the request's authenticated principal.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authenticate finds the token's principal by comparing SHA-256 digests in constant
// time with every configured token (the config never holds the tokens themselves).
func (s *Server) authenticate(r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	var found Principal
	hit := 0
	for _, t := range s.Tokens {
		if subtle.ConstantTimeCompare(sum[:], t.Sum[:]) == 1 {
			found = Principal{Name: t.Name, Role: t.Role}
			hit = 1
		}
	}
	return found, hit == 1
}

// require wraps an API handler: no or unknown token → 401, a role below min → 403.
func (s *Server) require(min string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="feedbackhub"`)
			s.fail(w, http.StatusUnauthorized, "missing or unknown bearer token")
			return
		}
		if rank(p.Role) < rank(min) {
			s.fail(w, http.StatusForbidden, "role %s may not do this (needs %s)", p.Role, min)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}
