package mfrc522test

import "slices"

// Fault is a way a Card misbehaves, starting after Card.FaultAfter answers.
type Fault int

const (
	// NoFault: the card follows ISO/IEC 14443-3.
	NoFault Fault = iota
	// Vanish: the card leaves the field, as when pulled away mid-read:
	// later frames get no answer.
	Vanish
	// Garble: the next answer arrives cut short with ErrorReg CollErr, as a
	// card leaving the field mid-frame does; the card then leaves.
	Garble
	// BadBCC: anticollision answers carry a wrong BCC.
	BadBCC
)

// Card is a simulated ISO/IEC 14443-3 type A card (PICC) with its state
// machine: IDLE, READY (per cascade level), ACTIVE, HALT. It loses its
// state (back to IDLE) when it leaves the field or the antenna is off.
type Card struct {
	// UID is 4, 7 or 10 bytes.
	UID []byte
	// ATQA, if zero, is derived from the UID size: 04 00, 44 00 or 84 00.
	ATQA [2]byte
	// SAK is the final SAK; 0 means 0x08 (MIFARE Classic 1K).
	SAK byte
	// Fault starts after FaultAfter answered frames (REQA's ATQA is the
	// first). BadBCC ignores FaultAfter.
	Fault      Fault
	FaultAfter int

	state   cardState
	level   int // cascade level being selected while READY
	halted  bool
	answers int
	gone    bool
}

type cardState int

const (
	stIdle cardState = iota
	stReady
	stActive
	stHalt
)

// State returns the card's ISO 14443-3 state: "IDLE", "READY", "ACTIVE" or "HALT".
func (c *Card) State() string {
	return [...]string{"IDLE", "READY", "ACTIVE", "HALT"}[c.state]
}

func (c *Card) powerOff() {
	c.state, c.level, c.halted = stIdle, 0, false
}

// cl returns cascade level i's 4 bytes (with cascade tag where the UID
// continues) and the number of levels.
func (c *Card) cl(i int) ([]byte, int) {
	u := c.UID
	switch len(u) {
	case 4:
		return slices.Clone(u), 1
	case 7:
		return [][]byte{{0x88, u[0], u[1], u[2]}, slices.Clone(u[3:7])}[i], 2
	default:
		return [][]byte{{0x88, u[0], u[1], u[2]}, {0x88, u[3], u[4], u[5]}, slices.Clone(u[6:10])}[i], 3
	}
}

func (c *Card) atqa() []byte {
	if c.ATQA != [2]byte{} {
		return c.ATQA[:]
	}
	return map[int][]byte{4: {0x04, 0}, 7: {0x44, 0}, 10: {0x84, 0}}[len(c.UID)]
}

// handle runs one frame through the state machine; nil means silence.
// short is a 7-bit short frame.
func (c *Card) handle(f []byte, short bool) []byte {
	back := func() {
		c.state, c.level = stIdle, 0
		if c.halted {
			c.state = stHalt
		}
	}
	switch {
	case short && len(f) == 1 && (f[0] == 0x26 && c.state == stIdle || f[0] == 0x52 && (c.state == stIdle || c.state == stHalt)):
		c.halted = c.state == stHalt
		c.state, c.level = stReady, 0
		return c.atqa()
	case short:
		back()
		return nil
	case c.state == stReady && len(f) >= 2 && f[0] == []byte{0x93, 0x95, 0x97}[min(c.level, 2)]:
		cl, levels := c.cl(c.level)
		bcc := cl[0] ^ cl[1] ^ cl[2] ^ cl[3]
		switch {
		case f[1] == 0x20 && len(f) == 2:
			if c.Fault == BadBCC {
				bcc ^= 0xFF
			}
			return append(cl, bcc)
		case f[1] == 0x70 && len(f) == 9 && crcOK(f) && slices.Equal(f[2:7], append(cl, bcc)):
			c.level++
			sak := byte(0x04)
			if c.level == levels {
				c.state, sak = stActive, c.SAK
				if sak == 0 {
					sak = 0x08
				}
			}
			return appendCRC([]byte{sak})
		}
		return nil // partial anticollision frames are not simulated
	case c.state == stActive && len(f) == 4 && f[0] == 0x50 && f[1] == 0 && crcOK(f):
		c.state, c.halted = stHalt, true
		return nil
	}
	back()
	return nil
}

func crc16(preset uint16, data []byte) uint16 {
	crc := preset
	for _, b := range data {
		for i := range 8 {
			bit := (uint16(b) >> i) & 1
			if (crc^bit)&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func appendCRC(f []byte) []byte {
	c := crc16(0x6363, f)
	return append(f, byte(c), byte(c>>8))
}

func crcOK(f []byte) bool {
	n := len(f) - 2
	c := crc16(0x6363, f[:n])
	return f[n] == byte(c) && f[n+1] == byte(c>>8)
}
