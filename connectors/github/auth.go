package github

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/connectors"
)

// authorizer sets the Authorization header of API requests.
type authorizer interface {
	authorize(ctx context.Context, req *http.Request) error
	// invalidate drops cached credentials after the API answered 401.
	invalidate()
}

// noAuth sends anonymous requests (public repositories, low rate limit).
type noAuth struct{}

func (noAuth) authorize(context.Context, *http.Request) error { return nil }
func (noAuth) invalidate()                                    {}

// tokenAuth sends a personal access token.
type tokenAuth struct{ token string }

func (a tokenAuth) authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+a.token)
	return nil
}
func (tokenAuth) invalidate() {}

// appAuth authenticates as a GitHub App installation: it signs a short-lived RS256
// JWT with the app's private key, exchanges it for an installation token, and
// replaces that token tokenRefreshMargin before it expires.
type appAuth struct {
	appID, installation int64
	key                 *rsa.PrivateKey
	gh                  *gh.Client
	http                *connectors.Client
	clock               clock.Clock
	red                 *connectors.Redactor

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (a *appAuth) authorize(ctx context.Context, req *http.Request) error {
	tok, err := a.current(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (a *appAuth) invalidate() {
	a.mu.Lock()
	a.token, a.expires = "", time.Time{}
	a.mu.Unlock()
}

// current returns a valid installation token, fetching a new one when needed.
func (a *appAuth) current(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if a.token != "" && now.Add(tokenRefreshMargin).Before(a.expires) {
		return a.token, nil
	}
	jwt, err := signAppJWT(a.key, a.appID, now)
	if err != nil {
		return "", err
	}
	a.red.Add(jwt)
	req, err := a.gh.NewRequest(http.MethodPost, fmt.Sprintf("app/installations/%d/access_tokens", a.installation), nil)
	if err != nil {
		return "", fmt.Errorf("installation token: %w", err)
	}
	req = req.WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := a.http.Do(req)
	if err != nil {
		if s := connectors.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusNotFound {
			return "", fmt.Errorf("installation token for app %d, installation %d: %w: check app_id, installation_id and private_key_file: %w", a.appID, a.installation, ErrConfig, err)
		}
		return "", fmt.Errorf("installation token: %w", err)
	}
	defer resp.Body.Close()
	var it gh.InstallationToken
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&it); err != nil {
		return "", fmt.Errorf("installation token: decode answer: %w", err)
	}
	if it.GetToken() == "" {
		return "", fmt.Errorf("installation token: answer has no token")
	}
	a.red.Add(it.GetToken())
	a.token = it.GetToken()
	a.expires = it.GetExpiresAt().Time
	if a.expires.IsZero() {
		a.expires = now.Add(time.Hour) // GitHub's documented lifetime
	}
	return a.token, nil
}

// signAppJWT returns the RS256 JWT GitHub wants from an app: issued a minute in the
// past (clock drift), valid for jwtLifetime, issuer the app id.
func signAppJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(struct {
		IAT int64  `json:"iat"`
		EXP int64  `json:"exp"`
		ISS string `json:"iss"`
	}{now.Add(-jwtBackdate).Unix(), now.Add(jwtLifetime).Unix(), strconv.FormatInt(appID, 10)})
	if err != nil {
		return "", fmt.Errorf("app jwt: %w", err)
	}
	signing := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("app jwt: sign: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
