package protocol

// The rules for a connection whose client generation is not known yet
// (docs/protocol.md §11.2): a server keeps the GenerationSet of
// candidates, writes each frame in every generation of its cover until
// the client's first frame tells its generation (Refine), and may probe
// for 1.21+ clients (NeedsProbe, AfterProbe).

// NumGenerations is one more than the largest Generation: the length of
// an array indexed by Generation.
const NumGenerations = int(GenV2) + 1

// Reads reports whether a client of generation client reads every server
// frame written in generation server (docs/protocol.md §3.4, §13):
// 1.18–1.20 clients read v1 and v2, every other client only its own
// generation. Nothing reads GenUnknown, and GenUnknown reads nothing.
func Reads(client, server Generation) bool {
	if client == GenV2Mixed {
		return server == GenV1 || server == GenV2Mixed || server == GenV2
	}
	return client == server && client.Valid()
}

// Cover returns the generations to write a frame in so that every member
// of s reads at least one of them: the single writer of s when there is
// one (Writer), else one writer per member, with 1.18–1.20 served by
// whichever of v1 and v2 is already there (v1 when neither is). dup
// reports that some member (1.18–1.20, which reads v1 and v2) reads two of
// them, so that a push written in every generation of the cover would
// reach it twice. The cover of the empty set is empty.
func (s GenerationSet) Cover() (w GenerationSet, dup bool) {
	if g, ok := s.Writer(); ok {
		return SetOf(g), false
	}
	for _, g := range [...]Generation{GenFlexi, GenV1, GenV2} {
		if s.Has(g) {
			w |= SetOf(g)
		}
	}
	if s.Has(GenV2Mixed) {
		if !w.Has(GenV1) && !w.Has(GenV2) {
			w |= SetOf(GenV1)
		}
		dup = w.Has(GenV1) && w.Has(GenV2)
	}
	return w, dup
}

// CoverIn is Cover for frames in format f. In EDN, 1.3–1.8 clients
// (Sente's EDN packer has no flexi marker) and 1.9–1.17 clients read the
// same handshake and push frames, so one GenV1 frame serves both instead
// of the same bytes written twice.
func (s GenerationSet) CoverIn(f Format) (w GenerationSet, dup bool) {
	w, dup = s.Cover()
	if f == FormatEDN && w.Has(GenFlexi) && w.Has(GenV1) {
		w &^= SetOf(GenFlexi)
	}
	return w, dup
}

// NeedsProbe reports whether a WebSocket whose client is one of s gets
// the probe: a server ping in the GenV2 encoding (GenV2.ServerPing) right
// after the handshake. Only 1.19+ clients answer it ([:chsk/ws-pong]),
// which tells their generation at once; the probe is worth sending only
// when it can shrink a cover of several generations, and never to a set
// that could only be 1.3–1.8 clients.
func (s GenerationSet) NeedsProbe() bool {
	if !s.Has(GenV2) {
		return false
	}
	w, _ := s.Cover()
	_, single := w.Only()
	return !single
}

// AfterProbe returns the candidates left when the probe went unanswered
// for the server's detection timeout: s without 1.21+, which always
// answers. A set that gets no probe (NeedsProbe) is returned as is.
func (s GenerationSet) AfterProbe() GenerationSet {
	if !s.NeedsProbe() {
		return s
	}
	return s &^ SetOf(GenV2)
}

// AjaxWriter returns the generation to answer an Ajax client of one of s
// in: the single writer of s if there is one, else GenV2 (1.18+ read it)
// when s has it, else the oldest member; GenV2 for the empty set. Only a
// poll that carries neither "_" nor a handshake flag, from a client-id the
// server does not know (a 1.9+ client that outlived a server restart),
// lands in the fallback; a 1.9–1.17 client that cannot read the answer
// fails the poll and comes back with "handshake?=true" (DetectAjax).
func (s GenerationSet) AjaxWriter() Generation {
	if g, ok := s.Writer(); ok {
		return g
	}
	for _, g := range [...]Generation{GenV2, GenFlexi, GenV1, GenV2Mixed} {
		if s.Has(g) {
			return g
		}
	}
	return GenV2
}

// Refine returns the generation of a client whose generation was pinned
// to g (GenUnknown if not yet) after one of its frames revealed revealed
// (ClientFrame.Generation). A GenV2 frame, which 1.18–1.20 and 1.21+
// clients both write ([ev "cb"]), does not undo a GenV2Mixed pin, which
// only 1.18–1.20 frames ([ev], [ev 0]) set; an invalid revealed
// generation tells nothing.
func (g Generation) Refine(revealed Generation) Generation {
	if !revealed.Valid() || (g == GenV2Mixed && revealed == GenV2) {
		return g
	}
	return revealed
}
