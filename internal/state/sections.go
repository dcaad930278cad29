package state

import (
	"context"
	"encoding/json"
	"fmt"
)

// Sections is the payload of a state file shared by several owners: named
// sections of JSON (the migrate controller's rollout, the rollback
// manager's records).
type Sections map[string]json.RawMessage

type sectionsPayload struct {
	Sections Sections `json:"sections"`
}

// ReadSections reads the state file at path and returns its sections. A
// missing file returns an empty, non-nil map. Errors are those of Read, or
// ErrCorrupt for a payload that is not an object of sections.
func ReadSections(path string) (Sections, error) {
	payload, err := Read(path)
	if err != nil {
		return nil, err
	}
	return DecodeSections(path, payload)
}

// DecodeSections parses a payload of sections (nil: none); name is used in
// errors.
func DecodeSections(name string, payload []byte) (Sections, error) {
	out := Sections{}
	if payload == nil {
		return out, nil
	}
	var p sectionsPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("state: %s: %w: payload: %v", name, ErrCorrupt, err)
	}
	for k, v := range p.Sections {
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		out[k] = v
	}
	return out, nil
}

// EncodeSections returns the payload for sections.
func EncodeSections(s Sections) ([]byte, error) {
	if s == nil {
		s = Sections{}
	}
	return json.MarshalIndent(sectionsPayload{Sections: s}, "  ", "  ")
}

// UpdateSections changes the file's sections with fn while holding the
// lock (see Update): fn sees every section as the file has them now —
// including those another writer saved since this process last read —
// and changes the map in place. It returns the sections as written. On
// error the file is unchanged.
func UpdateSections(ctx context.Context, path string, fn func(Sections) error) (Sections, error) {
	var written Sections
	err := Update(ctx, path, func(old []byte) ([]byte, error) {
		s, err := DecodeSections(path, old)
		if err != nil {
			return nil, err
		}
		if err := fn(s); err != nil {
			return nil, err
		}
		for k, v := range s {
			if !json.Valid(v) {
				return nil, fmt.Errorf("state: section %q is not valid JSON", k)
			}
		}
		payload, err := EncodeSections(s)
		if err != nil {
			return nil, err
		}
		written = s
		return payload, nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}

// SaveSection replaces one section (keeping every other section as the
// file has it now) and returns the sections as written.
func SaveSection(ctx context.Context, path, section string, data []byte) (Sections, error) {
	return UpdateSections(ctx, path, func(s Sections) error {
		s[section] = json.RawMessage(append([]byte(nil), data...))
		return nil
	})
}
