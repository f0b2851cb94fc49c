package protocol

// ClientFrame is a parsed client → server frame: a WebSocket text message
// or the ppstr field of an Ajax POST. It is plain data; its decoded values
// do not alias the frame.
type ClientFrame struct {
	// Event is the event the client sent.
	Event Event
	// Callback says whether and how the client waits for a reply.
	Callback Callback
	// Generation is the generation the frame reveals, to answer in.
	// Envelope v1 frames tell it: "+j…"/"-j…" is GenFlexi, "+[…" is GenV1
	// (or, in EDN, a 1.3–1.8 client with Sente's EDN packer: see
	// GenerationIn). A v2 frame is GenV2Mixed when only a 1.18–1.20 client
	// writes it ([ev] or [ev 0]) and GenV2 otherwise ([ev nil], [ev :ajax],
	// or [ev "cb-uuid"], which both write; GenV2 frames are read by both).
	Generation Generation
	// Format is the packer format to answer in: FormatEDN for an EDN body
	// without marker ("+[[:cmd/query …]]", "[[:cmd/query …] nil]"),
	// FormatTransit otherwise, including the flexi packer's "+e…"/"-e…"
	// (its EDN bodies): a flexi packer reads the 'j' bodies it is answered
	// in. Answer in Dialect{Generation, Format}.
	Format Format
}

// Dialect returns the dialect the frame reveals, to answer in.
func (cf ClientFrame) Dialect() Dialect { return Dialect{Generation: cf.Generation, Format: cf.Format} }

// ParseClientFrame parses a client frame, detecting its generation and
// format from its first bytes (docs/protocol.md §11.2):
//
//	+j… -j…      GenFlexi, Transit JSON after the marker
//	+e… -e…      GenFlexi, EDN after the marker (FormatTransit: the flexi packer)
//	+[… +{… -[…  GenV1, Transit or EDN by the rule below (GenerationIn)
//	[…           envelope v2 (GenV2Mixed or GenV2), Transit or EDN by the rule below
//
// Without a marker, the first byte after the leading run of '[' and '{'
// decides: '"' (a Transit string, as in [["~:cmd/query",…]]) or another
// byte that continues JSON is Transit; ':' (an EDN keyword, as in
// [[:cmd/query …]], never valid JSON) or another printable character is
// EDN. Every well-formed Transit or EDN client frame starts its event with
// its id, so the rule never mistakes one for the other.
//
// A frame that cannot be unpacked returns a *BadPackageError (Sente's
// :chsk/bad-package). A frame that unpacks to something that is not an
// event returns a *BadEventError (Sente's :chsk/bad-event) whose Value is
// the decoded value; the returned ClientFrame then still carries the
// Generation, the Format and the Callback, since Sente keeps the reply
// function of a bad event. In every error case Generation and Format are
// set if the first bytes revealed them.
//
// Events are returned whatever their namespace: a client's :chsk/ws-ping
// and :chsk/ws-pong, but also a forged :chsk/uidport-open, parse like any
// other event; what to do with them is the caller's decision.
//
// ParseClientFrame does not retain or modify frame; it never panics and is
// safe for concurrent use. Input size and nesting are bounded by the
// default limits of package transit and package edn.
func ParseClientFrame(frame []byte) (ClientFrame, error) {
	var cf ClientFrame
	if len(frame) == 0 {
		return cf, &BadPackageError{Err: ErrEmptyFrame}
	}
	var x, slot any
	var err error
	switch frame[0] {
	case v1Wrapped, v1Unwrapped:
		var p Packer
		if len(frame) > 1 {
			switch frame[1] {
			case flexiJSON:
				cf.Generation, p = GenFlexi, FlexiPacker{}
			case flexiEDN:
				cf.Generation, p = GenFlexi, FlexiPacker{}
			case '[', '{':
				cf.Generation, cf.Format = GenV1, detectFormat(frame[1:])
				p = cf.Format.packer()
			}
		}
		if p == nil {
			return cf, &BadPackageError{Err: ErrBadMarker}
		}
		x, slot, err = unwrapV1(frame, p)
	case v2Start:
		var n int
		cf.Generation, cf.Format = GenV2, detectFormat(frame)
		x, slot, n, err = unwrapV2(frame, cf.Format.packer())
		if err == nil && (n == 1 || slot == ajaxMarkerV1) {
			cf.Generation = GenV2Mixed
		}
	default:
		return cf, &BadPackageError{Err: ErrUnknownPrefix}
	}
	if err != nil {
		return cf, &BadPackageError{Generation: cf.Generation, Format: cf.Format, Err: err}
	}
	cf.Callback, err = parseCallback(slot)
	if err != nil {
		return cf, &BadPackageError{Generation: cf.Generation, Format: cf.Format, Err: err}
	}
	cf.Event, err = EventFromValue(x)
	return cf, err
}

// GenerationIn returns the frame's generation given the generations its
// client may be (what its requests told, such as DetectAjax of an Ajax
// POST's form, or what a deployment knows). Every frame names its
// generation exactly but one: a "+[…" EDN frame (reported as GenV1) is also
// what a 1.3–1.8 client with Sente's default EDN packer writes, and is
// GenFlexi when known rules out GenV1 but not GenFlexi.
func (cf ClientFrame) GenerationIn(known GenerationSet) Generation {
	if cf.Generation == GenV1 && cf.Format == FormatEDN && !known.Has(GenV1) && known.Has(GenFlexi) {
		return GenFlexi
	}
	return cf.Generation
}

// ClientFrame returns the frame a client of generation g sends for event ev
// with callback cb: "+j[ev cb]" (GenFlexi), "+[ev cb]" (GenV1), "[ev cb]"
// (GenV2Mixed, "[ev]" without callback) or "[ev cb-or-nil]" (GenV2), with
// the Ajax marker of the generation. The server never sends it; it is for
// tests and Go clients, and it is ParseClientFrame's inverse.
func (g Generation) ClientFrame(ev Event, cb Callback) ([]byte, error) {
	return Dialect{Generation: g}.ClientFrame(ev, cb)
}

// ClientFrame returns the frame a client of dialect d sends for event ev
// with callback cb; see Generation.ClientFrame. In EDN: +[ev cb] (GenFlexi
// and GenV1), [ev cb] or [ev cb-or-nil], such as
// [[:cmd/query {:q "clojure"}] :ajax].
func (d Dialect) ClientFrame(ev Event, cb Callback) ([]byte, error) {
	impl := d.impl()
	if impl == nil {
		return nil, ErrUnknownGeneration
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return impl.clientFrame(nil, ev.Value(), cb)
}
