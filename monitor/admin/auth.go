package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Errors an Authorizer returns; the handler answers 401 for
// ErrUnauthenticated (no credentials) and 403 for ErrForbidden (wrong ones).
var (
	ErrUnauthenticated = errors.New("admin: credentials required")
	ErrForbidden       = errors.New("admin: forbidden")
)

// Authorizer decides who a request comes from. It returns a name for the
// audit record, or an error wrapping ErrUnauthenticated (no credentials) or
// ErrForbidden (credentials refused); any other error is a 403 too.
type Authorizer interface {
	Authorize(r *http.Request) (who string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *http.Request) (string, error) { return f(r) }

// BearerToken authorizes requests carrying "Authorization: Bearer <token>"
// and names them "token" in the audit record. The comparison is in constant
// time (over SHA-256 digests, so the length does not leak either). An empty
// token authorizes nothing: New refuses it (ErrInvalidConfig).
func BearerToken(token string) Authorizer {
	return BearerTokens(map[string]string{"token": token})
}

// BearerTokens authorizes any of several tokens, each named (the name is
// the "who" of the audit record). Every token is compared, in constant time,
// whichever matches.
func BearerTokens(named map[string]string) Authorizer {
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	sort.Strings(names)
	b := &bearer{}
	for _, n := range names {
		b.names = append(b.names, n)
		b.sums = append(b.sums, sha256.Sum256([]byte(named[n])))
		if named[n] == "" {
			b.empty = append(b.empty, n)
		}
	}
	return b
}

type bearer struct {
	names []string
	sums  [][32]byte
	empty []string
}

func (b *bearer) validate() error {
	if len(b.names) == 0 {
		return fmt.Errorf("%w: WithAuthorizer: a bearer authorizer needs at least one token", ErrInvalidConfig)
	}
	if len(b.empty) > 0 {
		return fmt.Errorf("%w: WithAuthorizer: bearer token %q is empty (an empty token would authorize nothing; leave the authorizer out to keep the API closed)", ErrInvalidConfig, b.empty[0])
	}
	return nil
}

func (b *bearer) Authorize(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", fmt.Errorf("%w: send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("%w: the Authorization header is not \"Bearer <token>\"", ErrUnauthenticated)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	who := -1
	for i := range b.sums {
		if subtle.ConstantTimeCompare(sum[:], b.sums[i][:]) == 1 {
			who = i
		}
	}
	if who < 0 {
		return "", fmt.Errorf("%w: the bearer token is not valid", ErrForbidden)
	}
	return b.names[who], nil
}
