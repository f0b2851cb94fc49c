package protocol

import "fmt"

// PackedBatch is a push batch (a vector of events, docs/protocol.md §7)
// encoded once in one format for a set of generations, so that a broadcast
// writes the same bytes to every connection of a dialect instead of
// encoding per connection. It is immutable and safe for concurrent use; the
// frames it returns are shared and must not be modified. The zero value
// holds no frames.
type PackedBatch struct {
	format Format
	frames [NumGenerations][]byte
}

// PackBatch validates events and encodes them as one Transit push batch
// for each generation in gens (FormatTransit.PackBatch). The Transit text
// of the batch is produced once and wrapped per generation:
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
	return FormatTransit.PackBatch(events, gens)
}

// PackBatch is PackBatch in format f: the batch text is produced once in f
// and wrapped per generation. In EDN:
//
//	GenFlexi    -[ev1 ev2 …]
//	GenV1       -[ev1 ev2 …]
//	GenV2Mixed  [[ev1 ev2 …]]
//	GenV2       [[ev1 ev2 …] nil]
//
// An invalid f returns ErrUnknownFormat. To serve Transit and EDN clients
// the same push, pack it once per format.
func (f Format) PackBatch(events []Event, gens GenerationSet) (PackedBatch, error) {
	b := PackedBatch{format: f}
	if !f.Valid() {
		return b, ErrUnknownFormat
	}
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
	body, err := f.marshal(batch)
	if err != nil {
		return b, fmt.Errorf("protocol: pack batch: %w", err)
	}
	for g := GenFlexi; g <= GenV2; g++ {
		if gens.Has(g) {
			b.frames[g] = Dialect{g, f}.impl().batch(make([]byte, 0, len(body)+batchOverhead), body)
		}
	}
	return b, nil
}

// batchOverhead is the most bytes a generation adds around the batch body:
// "[" and ",null]" for GenV2.
const batchOverhead = 7

// Format returns the format the batch was packed in.
func (b PackedBatch) Format() Format { return b.format }

// Frame returns the frame for generation g in the batch's format, or nil if
// the batch was not packed for g.
func (b PackedBatch) Frame(g Generation) []byte {
	if !g.Valid() {
		return nil
	}
	return b.frames[g]
}

// Batch returns the Transit push frame of events for generation g alone;
// see PackBatch for the format and the errors. To send the same batch to
// clients of several generations, use PackBatch.
func (g Generation) Batch(events ...Event) ([]byte, error) {
	return Dialect{Generation: g}.Batch(events...)
}

// Batch returns the push frame of events for dialect d alone; see
// Format.PackBatch.
func (d Dialect) Batch(events ...Event) ([]byte, error) {
	if !d.Valid() {
		return nil, ErrUnknownGeneration
	}
	b, err := d.Format.PackBatch(events, SetOf(d.Generation))
	if err != nil {
		return nil, err
	}
	return b.frames[d.Generation], nil
}
