package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/qinqing/station/kiosk"
)

// KindEquipment is the journal kind of the equipment register
// (设备维护记录): one entry per device event.
const KindEquipment Kind = "equipment"

// Equipment events.
const (
	// EquipAttached: the device answered (at start or when plugged in).
	EquipAttached = "attached"
	// EquipFault: the device is missing or stopped working; Detail says why.
	EquipFault = "fault"
	// EquipRecovered: a faulty device works again.
	EquipRecovered = "recovered"
	// EquipReplaced: a different unit answers under the same name (another
	// chip version, another USB id).
	EquipReplaced = "replaced"
	// EquipConfigChanged: the [devices] configuration differs from the
	// last one journaled; Hash holds the new one.
	EquipConfigChanged = "config_changed"
)

// EquipmentEvent is one entry of the equipment register as the daemon
// reports it. Body field names are part of the journal format.
type EquipmentEvent struct {
	// Device is the device's config name ("reader1"), or "devices" for a
	// configuration change.
	Device string `json:"device"`
	// Kind is the device's kind ("mfrc522", "gpio-light", "button").
	Kind string `json:"kind"`
	// Booth is the booth the device serves; "" when none.
	Booth string `json:"booth"`
	// Event is one of the Equip* constants.
	Event string `json:"event"`
	// Detail is free text for the technician (a fault's reason, the
	// chip version); never a card UID.
	Detail string `json:"detail"`
	// Hash is the [devices] section's hash for EquipConfigChanged, else "".
	Hash string `json:"hash,omitempty"`
	// At is when it happened; zero means the journal's clock at append.
	At time.Time `json:"-"`
}

// EquipmentEntry is one row of the equipment register with the seq of its
// journal entry and whether the clock was synced when it was written.
type EquipmentEntry struct {
	Seq int64
	EquipmentEvent
	ClockSynced bool
}

type equipmentBody struct {
	EquipmentEvent
	At string `json:"at"`
}

// Equipment appends an 'equipment' entry for e. Device and Event are
// required (EINVALID otherwise).
func (db *DB) Equipment(ctx context.Context, e EquipmentEvent) error {
	if e.Device == "" || e.Event == "" {
		return kiosk.Errorf(kiosk.EINVALID, "equipment entry needs a device and an event")
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	body, err := json.Marshal(equipmentBody{e, fmtTime(e.At)})
	if err != nil {
		return fmt.Errorf("equipment entry: %w", err)
	}
	_, err = db.appendOne(ctx, KindEquipment, "", body, nil)
	return err
}

// EquipmentLog returns the equipment register for events at or after from
// and before to, ordered by time then seq. A zero from or to leaves that
// side open. Times come back in UTC.
func (db *DB) EquipmentLog(ctx context.Context, from, to time.Time) ([]EquipmentEntry, error) {
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT seq, clock_synced, body FROM journal
		WHERE kind = 'equipment' AND json_extract(body, '$.at') >= ? AND json_extract(body, '$.at') < ?
		ORDER BY json_extract(body, '$.at'), seq`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("equipment register: query: %w", err)
	}
	defer rows.Close()
	var out []EquipmentEntry
	for rows.Next() {
		var (
			e    EquipmentEntry
			body string
		)
		if err := rows.Scan(&e.Seq, &e.ClockSynced, &body); err != nil {
			return nil, fmt.Errorf("equipment register: scan: %w", err)
		}
		var b equipmentBody
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, fmt.Errorf("equipment register: seq %d: %w", e.Seq, err)
		}
		if b.EquipmentEvent.At, err = parseTime(b.At); err != nil {
			return nil, fmt.Errorf("equipment register: seq %d: %w", e.Seq, err)
		}
		e.EquipmentEvent = b.EquipmentEvent
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("equipment register: rows: %w", err)
	}
	return out, nil
}

// LastDevicesHash returns the Hash of the latest EquipConfigChanged entry,
// or "" when there is none.
func (db *DB) LastDevicesHash(ctx context.Context) (string, error) {
	var h string
	err := db.db.QueryRowContext(ctx, `SELECT COALESCE(json_extract(body, '$.hash'), '') FROM journal
		WHERE kind = 'equipment' AND json_extract(body, '$.event') = ?
		ORDER BY seq DESC LIMIT 1`, EquipConfigChanged).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last devices hash: %w", err)
	}
	return h, nil
}
