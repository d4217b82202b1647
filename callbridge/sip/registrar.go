package sip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	siplib "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Registrar defaults.
const (
	DefaultRegisterExpires = 3600 * time.Second // used when a REGISTER names no expiry
	MinRegisterExpires     = 60 * time.Second   // shorter -> 423 Interval Too Brief
	MaxRegisterExpires     = 7200 * time.Second // longer is shortened to this
	DefaultNonceTTL        = 5 * time.Minute    // a nonce older than this is stale
)

// Digest errors returned by the authenticator.
var (
	errNoCredentials  = errors.New("sip: no credentials")
	errBadCredentials = errors.New("sip: bad credentials")
	errStaleNonce     = errors.New("sip: stale nonce")
)

// digestAuth is the server side of SIP digest authentication (RFC 3261
// section 22, RFC 8760, qop=auth). It offers the algorithms in algs, in
// order, and accepts only those. It owns the nonce table: a nonce is valid
// for ttl after it was issued.
type digestAuth struct {
	realm string
	users map[string]string // user -> password
	now   func() time.Time
	ttl   time.Duration
	algs  []string

	mu     sync.Mutex
	nonces map[string]time.Time // nonce -> issued
}

func newDigestAuth(realm string, users map[string]string, now func() time.Time, ttl time.Duration, algs []string) *digestAuth {
	return &digestAuth{realm: realm, users: users, now: now, ttl: ttl, algs: algs, nonces: map[string]time.Time{}}
}

// accepts reports whether alg ("" meaning MD5, RFC 2617) is offered.
func (a *digestAuth) accepts(alg string) bool {
	if alg == "" {
		alg = "MD5"
	}
	for _, x := range a.algs {
		if strings.EqualFold(x, alg) {
			return true
		}
	}
	return false
}

// sameURI reports whether the digest's uri parameter names the request's
// Request-URI (RFC 2617 section 3.2.2.5): same user, host and port, so
// that credentials for one dialled number cannot be replayed for another.
func sameURI(digestURI string, req *siplib.Request) bool {
	var u siplib.Uri
	if err := siplib.ParseUri(digestURI, &u); err != nil {
		return false
	}
	r := req.Recipient
	port := func(p int) int {
		if p == 0 {
			return 5060
		}
		return p
	}
	return u.User == r.User && strings.EqualFold(u.Host, r.Host) && port(u.Port) == port(r.Port)
}

// newNonce issues a random nonce and drops expired ones.
func (a *digestAuth) newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	n := hex.EncodeToString(b[:])
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.nonces) >= 64 {
		for k, t := range a.nonces {
			if now.Sub(t) > a.ttl {
				delete(a.nonces, k)
			}
		}
	}
	a.nonces[n] = now
	return n
}

// check verifies the credentials in header hdr ("Authorization" or
// "Proxy-Authorization") and returns the authenticated user. A correct
// response computed over an unknown or expired nonce gives errStaleNonce.
func (a *digestAuth) check(req *siplib.Request, hdr string) (string, error) {
	h := req.GetHeader(hdr)
	if h == nil {
		return "", errNoCredentials
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return "", fmt.Errorf("%w: %v", errBadCredentials, err)
	}
	pw, ok := a.users[cred.Username]
	if !ok || cred.Realm != a.realm {
		return "", errBadCredentials
	}
	if !a.accepts(cred.Algorithm) {
		return "", errBadCredentials
	}
	if !sameURI(cred.URI, req) {
		return "", fmt.Errorf("%w: digest uri %q is not the Request-URI", errBadCredentials, cred.URI)
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: req.Method.String(), URI: cred.URI, Username: cred.Username, Password: pw,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil {
		return "", fmt.Errorf("%w: %v", errBadCredentials, err)
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return "", errBadCredentials
	}
	a.mu.Lock()
	issued, known := a.nonces[cred.Nonce]
	a.mu.Unlock()
	if !known || a.now().Sub(issued) > a.ttl {
		return cred.Username, errStaleNonce
	}
	return cred.Username, nil
}

// challenge returns a 401 (or 407 when proxy) to req offering each
// algorithm in a.algs with one fresh nonce.
func (a *digestAuth) challenge(req *siplib.Request, proxy, stale bool) *siplib.Response {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := siplib.NewResponseFromRequest(req, code, reason, nil)
	nonce := a.newNonce()
	for _, alg := range a.algs {
		c := digest.Challenge{Realm: a.realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		res.AppendHeader(siplib.NewHeader(name, c.String()))
	}
	return res
}

// Binding is a booth phone's registration.
type Binding struct {
	// Contact is the phone's Contact URI from its REGISTER.
	Contact siplib.Uri
	// Source is the host:port the REGISTER came from, and Transport its
	// transport ("UDP", "TCP"); requests to the phone go there, which also
	// works behind NAT and reuses a TCP connection.
	Source    string
	Transport string
	// Expires is when the binding lapses (from RegistrarOpts.Now).
	Expires time.Time
}

// RegistrarOpts are optional; the zero value means the defaults above.
type RegistrarOpts struct {
	Now            func() time.Time
	Logger         *slog.Logger
	NonceTTL       time.Duration
	DefaultExpires time.Duration
	MinExpires     time.Duration
	MaxExpires     time.Duration
	// Algorithms are the digest algorithms offered, in order, and the only
	// ones accepted: "MD5" and/or "SHA-256" (RFC 8760). Default MD5 only:
	// many phones (sipp 3.6, baresip 1.0, older desk phones) give up on a
	// response that offers SHA-256 at all.
	Algorithms []string
}

// DefaultDigestAlgorithms is what the registrar offers by default.
var DefaultDigestAlgorithms = []string{"MD5"}

// Registrar is the SIP registrar for the booth phones (RFC 3261 section
// 10): digest-authenticated REGISTER, one binding per extension (the
// latest REGISTER wins), Expires handling with 423 Interval Too Brief,
// unregister with Expires: 0 or Contact: *. It is safe for concurrent use.
type Registrar struct {
	auth *digestAuth
	opts RegistrarOpts
	log  *slog.Logger

	mu       sync.Mutex
	bindings map[string]Binding
}

// NewRegistrar returns a registrar for realm with the extensions and
// passwords in users (not copied; do not modify it afterwards).
func NewRegistrar(realm string, users map[string]string, opts RegistrarOpts) *Registrar {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.NonceTTL <= 0 {
		opts.NonceTTL = DefaultNonceTTL
	}
	if opts.DefaultExpires <= 0 {
		opts.DefaultExpires = DefaultRegisterExpires
	}
	if opts.MinExpires <= 0 {
		opts.MinExpires = MinRegisterExpires
	}
	if opts.MaxExpires <= 0 {
		opts.MaxExpires = MaxRegisterExpires
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = DefaultDigestAlgorithms
	}
	return &Registrar{
		auth:     newDigestAuth(realm, users, opts.Now, opts.NonceTTL, opts.Algorithms),
		opts:     opts,
		log:      opts.Logger,
		bindings: map[string]Binding{},
	}
}

// Lookup returns the live binding of extension ext.
func (r *Registrar) Lookup(ext string) (Binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bindings[ext]
	if !ok {
		return Binding{}, false
	}
	if !r.opts.Now().Before(b.Expires) {
		delete(r.bindings, ext)
		return Binding{}, false
	}
	return b, true
}

// Binding returns the registered Contact URI of extension ext, if its
// binding has not expired.
func (r *Registrar) Binding(ext string) (contact siplib.Uri, ok bool) {
	b, ok := r.Lookup(ext)
	return b.Contact, ok
}

// Registered returns how many extensions have a live binding.
func (r *Registrar) Registered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	n := 0
	for _, b := range r.bindings {
		if now.Before(b.Expires) {
			n++
		}
	}
	return n
}

// Authenticate checks req's digest credentials in the Authorization
// (proxy false) or Proxy-Authorization (proxy true) header. It returns the
// user, or nil and the challenge (401/407, stale=true for an expired
// nonce) to send back.
func (r *Registrar) Authenticate(req *siplib.Request, proxy bool) (string, *siplib.Response) {
	hdr := "Authorization"
	if proxy {
		hdr = "Proxy-Authorization"
	}
	user, err := r.auth.check(req, hdr)
	if err == nil {
		return user, nil
	}
	return "", r.auth.challenge(req, proxy, errors.Is(err, errStaleNonce))
}

// Handle answers a REGISTER: 401 challenge, 403 when the authenticated
// user is not the To user, 400 for a malformed request, 423 with
// Min-Expires for a too short interval, else 200 with the binding.
func (r *Registrar) Handle(req *siplib.Request) *siplib.Response {
	to := req.To()
	if to == nil || to.Address.User == "" || req.CallID() == nil || req.CSeq() == nil {
		return siplib.NewResponseFromRequest(req, 400, "Bad Request", nil)
	}
	ext := to.Address.User
	user, chal := r.Authenticate(req, false)
	if chal != nil {
		return chal
	}
	if user != ext {
		return siplib.NewResponseFromRequest(req, 403, "Forbidden", nil)
	}
	contact := req.Contact()
	expires := r.opts.DefaultExpires
	hasExpires := false
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			return siplib.NewResponseFromRequest(req, 400, "Bad Request", nil)
		}
		expires, hasExpires = time.Duration(n)*time.Second, true
	}
	if contact != nil && contact.Params != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return siplib.NewResponseFromRequest(req, 400, "Bad Request", nil)
			}
			expires, hasExpires = time.Duration(n)*time.Second, true
		}
	}
	now := r.opts.Now()
	switch {
	case contact == nil: // query: report the current binding
	case contact.Address.Wildcard:
		if !hasExpires || expires != 0 {
			return siplib.NewResponseFromRequest(req, 400, "Bad Request", nil)
		}
		r.remove(ext)
	case expires == 0:
		r.remove(ext)
	case expires < r.opts.MinExpires:
		res := siplib.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(siplib.NewHeader("Min-Expires", strconv.Itoa(int(r.opts.MinExpires/time.Second))))
		return res
	default:
		expires = min(expires, r.opts.MaxExpires)
		b := Binding{Contact: *contact.Address.Clone(), Source: req.Source(), Transport: req.Transport(), Expires: now.Add(expires)}
		r.mu.Lock()
		_, had := r.bindings[ext]
		r.bindings[ext] = b
		r.mu.Unlock()
		if !had {
			r.log.Info("booth phone registered", "ext", ext, "transport", b.Transport)
		}
	}
	res := siplib.NewResponseFromRequest(req, 200, "OK", nil)
	if b, ok := r.Lookup(ext); ok {
		c := siplib.ContactHeader{Address: *b.Contact.Clone(), Params: siplib.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now)/time.Second)))
		res.AppendHeader(&c)
	}
	res.AppendHeader(siplib.NewHeader("Date", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	return res
}

func (r *Registrar) remove(ext string) {
	r.mu.Lock()
	_, had := r.bindings[ext]
	delete(r.bindings, ext)
	r.mu.Unlock()
	if had {
		r.log.Info("booth phone unregistered", "ext", ext)
	}
}

// ServeRegister is a sipgo request handler for REGISTER.
func (r *Registrar) ServeRegister(req *siplib.Request, tx siplib.ServerTransaction) {
	if err := tx.Respond(r.Handle(req)); err != nil {
		r.log.Debug("respond register", "err", err)
	}
}
