package protocol

import (
	"fmt"

	"github.com/sente-go/sente/transit"
)

// PackedBatch is a push batch (a vector of events, sente-protocol.md §7)
// encoded once for a set of generations, so that a broadcast writes the
// same bytes to every connection of a generation instead of encoding per
// connection. It is immutable and safe for concurrent use; the frames it
// returns are shared and must not be modified. The zero value holds no
// frames.
type PackedBatch struct {
	frames [numGenerations][]byte
}

// PackBatch validates events and encodes them as one push batch for each
// generation in gens. The Transit text of the batch is produced once and
// wrapped per generation:
//
//	GenFlexi    -j[ev1,ev2,…]
//	GenV1       -[ev1,ev2,…]
//	GenV2Mixed  [[ev1,ev2,…]]
//	GenV2       [[ev1,ev2,…],null]
//
// Every event must be valid (Event.Validate) and outside the chsk
// namespace, which clients from 1.9 on reject in a batch; otherwise
// PackBatch returns a *BadEventError. An empty batch is allowed (it is the
// GenFlexi idle-poll answer). Events are not retained.
func PackBatch(events []Event, gens GenerationSet) (PackedBatch, error) {
	var b PackedBatch
	batch := make([]any, len(events))
	cells := make([]any, 0, 2*len(events)) // backing of every event vector
	for i, ev := range events {
		if err := ev.Validate(); err != nil {
			return b, err
		}
		if ev.ID.Namespace() == reservedNamespace {
			return b, &BadEventError{Value: ev.Value(), Err: ErrReservedID}
		}
		start := len(cells)
		cells = append(cells, ev.ID)
		if ev.HasData || ev.Data != nil {
			cells = append(cells, ev.Data)
		}
		batch[i] = cells[start:len(cells):len(cells)]
	}
	body, err := transit.Marshal(batch)
	if err != nil {
		return b, fmt.Errorf("protocol: pack batch: %w", err)
	}
	for g := GenFlexi; g <= GenV2; g++ {
		if gens.Has(g) {
			b.frames[g] = g.dialect().batch(make([]byte, 0, len(body)+batchOverhead), body)
		}
	}
	return b, nil
}

// batchOverhead is the most bytes a generation adds around the batch body:
// "[" and ",null]" for GenV2.
const batchOverhead = 7

// Frame returns the frame for generation g, or nil if the batch was not
// packed for g.
func (b PackedBatch) Frame(g Generation) []byte {
	if !g.Valid() {
		return nil
	}
	return b.frames[g]
}

// Batch returns the push frame of events for generation g alone; see
// PackBatch for the format and the errors. To send the same batch to
// clients of several generations, use PackBatch.
func (g Generation) Batch(events ...Event) ([]byte, error) {
	if !g.Valid() {
		return nil, ErrUnknownGeneration
	}
	b, err := PackBatch(events, SetOf(g))
	if err != nil {
		return nil, err
	}
	return b.frames[g], nil
}
