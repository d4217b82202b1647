// Package mfrc522test is a register-level fake of the NXP MFRC522
// (datasheet rev 3.9) with simulated ISO/IEC 14443-3 type A cards, for
// testing devices/mfrc522 without hardware.
//
// Chip implements spi.Port and spi.Conn with the chip's SPI framing
// (8.1.2: address byte addr<<1, bit 7 set to read; multi-register reads
// one byte late; writes of several bytes to one address), its registers,
// the 64-byte FIFO, the commands Idle, Mem, CalcCRC, Transmit, Transceive and
// SoftReset, soft power-down, ComIrqReg/DivIrqReg with the IRQ pin, the
// timer in TAuto mode, ErrorReg and CollReg. RST() is the NRSTPD pin: a
// low-high pulse is a hard reset. Time is a virtual Clock, advanced by
// every SPI transaction (at the connected speed) and by the RF timing of
// each frame (106 kbit/s, 9.44 µs per bit, about 90 µs frame delay).
//
// Faults: Card.Fault (pulled mid-read, garbled frame, wrong BCC),
// WarmRestart (state left by a previous process: antenna on, a Transceive
// still running, FIFO and IRQ bits stale, soft power-down), Kill and Hang
// (a chip answering a constant such as 0x00, forever or until the next
// RST pulse), FailTx (SPI errors), and an IRQ pin that never fires (give
// the driver a NewIRQPin that was not passed to AttachIRQ).
package mfrc522test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

const (
	rCommand     = 0x01
	rComIEn      = 0x02
	rDivIEn      = 0x03
	rComIrq      = 0x04
	rDivIrq      = 0x05
	rError       = 0x06
	rFIFOData    = 0x09
	rFIFOLevel   = 0x0A
	rControl     = 0x0C
	rBitFraming  = 0x0D
	rColl        = 0x0E
	rMode        = 0x11
	rTxControl   = 0x14
	rCRCResultHi = 0x21
	rCRCResultLo = 0x22
	rTMode       = 0x2A
	rTPrescaler  = 0x2B
	rTReloadHi   = 0x2C
	rTReloadLo   = 0x2D
	rVersion     = 0x37

	etu        = 9440 * time.Nanosecond // one bit at 106 kbit/s (128/fc)
	frameDelay = 91 * time.Microsecond  // ISO 14443-3 FDT, 1236/fc
	oscStart   = 40 * time.Microsecond  // datasheet 8.8.2: 37.74 µs
)

// forever is a wake-up time that never comes: soft power-down lasts until
// PowerDown is cleared or the chip is reset.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// resetValues are the registers after a hard or soft reset (datasheet 9.2).
var resetValues = map[byte]byte{
	rCommand: 0x20, rComIEn: 0x80, rComIrq: 0x14, 0x07: 0x21, 0x0B: 0x08, rControl: 0x10,
	rColl: 0x80, rMode: 0x3F, rTxControl: 0x80, 0x16: 0x10, 0x17: 0x84, 0x18: 0x84, 0x19: 0x4D,
	0x1C: 0x62, 0x1F: 0xEB, rCRCResultHi: 0xFF, rCRCResultLo: 0xFF, 0x24: 0x26, 0x26: 0x48,
	0x27: 0x88, 0x28: 0x20, 0x29: 0x20,
}

// Chip is the fake MFRC522. Create it with New; its methods are safe for
// concurrent use.
type Chip struct {
	// Clock is the virtual time of the chip and its cards.
	Clock *Clock

	mu        sync.Mutex
	version   byte
	regs      [64]byte
	fifo      []byte
	mem       [25]byte
	field     []*Card
	events    []event
	pending   *frameResult
	speed     physic.Frequency
	wakeAt    time.Time // soft power-down or oscillator start ends
	powerDown bool
	rstLow    bool
	rst       *gpiotest.Pin
	irq       *gpiotest.Pin
	irqActive bool
	dead      bool
	deadValue byte
	hang      bool
	txErr     error
	txCount   int
	resets    int
}

type event struct {
	at    time.Time
	card  *Card
	place bool
}

type frameResult struct {
	doneAt time.Time
	data   []byte
	errReg byte
	timer  bool // no answer: TimerIRq
	never  bool // no timer running and no answer: the command hangs
	// transmit: the Transmit command, done at the end of transmission
	transmit bool
}

// New returns a powered-on chip reporting VersionReg 0x92, with no card.
// clock may be nil for a fresh NewClock.
func New(clock *Clock) *Chip {
	if clock == nil {
		clock = NewClock()
	}
	c := &Chip{Clock: clock, version: 0x92, speed: physic.MegaHertz}
	c.rst = &gpiotest.Pin{N: "MFRC522_RST", L: gpio.High}
	c.resetRegs()
	return c
}

// NewIRQPin returns a gpiotest pin able to carry the chip's IRQ edges.
func NewIRQPin() *gpiotest.Pin {
	return &gpiotest.Pin{N: "MFRC522_IRQ", L: gpio.High, EdgesChan: make(chan gpio.Level, 64)}
}

// AttachIRQ makes the chip drive p: a falling edge each time an enabled
// interrupt (ComIEnReg, DivIEnReg) becomes pending. While attached, a
// started Transceive completes at once, the virtual clock jumping to its
// end, as if the driver had slept until the edge.
func (c *Chip) AttachIRQ(p *gpiotest.Pin) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.irq = p
}

// RST returns the chip's NRSTPD pin. Driving it low holds the chip in hard
// power-down (SPI reads 0x00); driving it high again is a hard reset.
func (c *Chip) RST() gpio.PinOut { return &rstPin{Pin: c.rst, c: c} }

type rstPin struct {
	*gpiotest.Pin
	c *Chip
}

func (p *rstPin) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if l == gpio.Low {
		c.rstLow = true
		return nil
	}
	if c.rstLow {
		c.rstLow = false
		c.resets++
		c.resetRegs()
		c.powerDown = true
		c.wakeAt = c.Clock.Now().Add(oscStart)
		if c.hang {
			c.dead, c.hang = false, false
		}
	}
	return nil
}

// SetVersion sets the value VersionReg reads (0x91, 0x92, FM17522 0x88...).
func (c *Chip) SetVersion(v byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = v
}

// Place puts card on the antenna now.
func (c *Chip) Place(card *Card) { c.PlaceAt(time.Time{}, card) }

// Remove takes card off the antenna now; it loses power and its state.
func (c *Chip) Remove(card *Card) { c.RemoveAt(time.Time{}, card) }

// PlaceAt puts card on the antenna when the virtual clock reaches t.
func (c *Chip) PlaceAt(t time.Time, card *Card) { c.schedule(event{t, card, true}) }

// RemoveAt takes card off the antenna when the virtual clock reaches t.
func (c *Chip) RemoveAt(t time.Time, card *Card) { c.schedule(event{t, card, false}) }

func (c *Chip) schedule(e event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	slices.SortStableFunc(c.events, func(a, b event) int { return a.at.Compare(b.at) })
	c.applyEvents()
}

// WarmRestart leaves the chip as a previous process would after being
// killed mid-poll: antenna drivers on, timer stopped, a Transceive still
// running, stale IRQ bits and FIFO bytes, ErrorReg CollErr, and soft
// power-down requested.
func (c *Chip) WarmRestart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regs[rTxControl] = 0x83
	c.regs[rTMode] = 0
	c.regs[rComIrq] = 0x65
	c.regs[rError] = 0x08
	c.fifo = []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11}
	c.regs[rCommand] = 0x0C
	c.pending = &frameResult{never: true}
	c.powerDown = true
	c.wakeAt = forever // only a reset or PowerDown=0 wakes it
}

// Kill makes every SPI read return v from now on (0x00: MISO pulled low or
// no chip; 0xFF: floating); writes are lost.
func (c *Chip) Kill(v byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead, c.deadValue, c.hang = true, v, false
}

// Hang is Kill until the next RST pulse, as a chip latched up by a brown-out.
func (c *Chip) Hang(v byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead, c.deadValue, c.hang = true, v, true
}

// Revive undoes Kill and Hang.
func (c *Chip) Revive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead, c.hang = false, false
}

// FailTx makes every SPI transaction fail with err; nil restores it.
func (c *Chip) FailTx(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.txErr = err
}

// Transactions returns the number of SPI transactions so far.
func (c *Chip) Transactions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txCount
}

// Resets returns the number of hard resets (RST pulses) so far.
func (c *Chip) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// Reg returns register addr as the chip holds it, without side effects.
func (c *Chip) Reg(addr byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch addr {
	case rFIFOLevel:
		return byte(len(c.fifo))
	case rVersion:
		return c.version
	case rCommand:
		return c.read(rCommand)
	}
	return c.regs[addr&0x3F]
}

// String implements conn.Resource.
func (c *Chip) String() string { return "mfrc522test" }

// Connect implements spi.Port: mode 0, 8 bits, at most 10 MHz.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if mode&spi.Mode3 != spi.Mode0 || bits != 8 || f > 10*physic.MegaHertz || f <= 0 {
		return nil, fmt.Errorf("mfrc522test: connect %s %s %d bits: want mode 0, 8 bits, <= 10MHz", f, mode, bits)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.speed = f
	return c, nil
}

// Duplex implements conn.Conn.
func (c *Chip) Duplex() conn.Duplex { return conn.Full }

// TxPackets implements spi.Conn, one Tx per packet.
func (c *Chip) TxPackets(p []spi.Packet) error {
	for _, pk := range p {
		if err := c.Tx(pk.W, pk.R); err != nil {
			return err
		}
	}
	return nil
}

// Tx implements conn.Conn: one SPI transaction (chip select held low for
// len(w) bytes).
func (c *Chip) Tx(w, r []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.txCount++
	if c.txErr != nil {
		return c.txErr
	}
	if len(r) != 0 && len(r) != len(w) {
		return errors.New("mfrc522test: r and w must have the same length")
	}
	c.Clock.Advance(time.Duration(len(w)*8)*c.speed.Period() + 2*time.Microsecond)
	c.applyEvents()
	c.complete(false)
	if c.rstLow || c.dead {
		v := byte(0)
		if c.dead {
			v = c.deadValue
		}
		for i := range r {
			r[i] = v
		}
		return nil
	}
	if len(w) == 0 {
		return nil
	}
	if w[0]&0x80 == 0 {
		for _, v := range w[1:] {
			c.write(w[0]>>1&0x3F, v)
		}
		clear(r)
		return nil
	}
	if len(r) > 0 {
		r[0] = 0
	}
	for i := 1; i < len(w); i++ {
		v := c.read(w[i-1] >> 1 & 0x3F)
		if len(r) > 0 {
			r[i] = v
		}
	}
	return nil
}

func (c *Chip) resetRegs() {
	c.regs = [64]byte{}
	for a, v := range resetValues {
		c.regs[a] = v
	}
	c.fifo = nil
	c.pending = nil
	c.powerDown = false
	c.irqActive = false
	for _, card := range c.field {
		card.powerOff()
	}
}

func (c *Chip) antennaOn() bool { return c.regs[rTxControl]&0x03 == 0x03 }

func (c *Chip) applyEvents() {
	now := c.Clock.Now()
	for len(c.events) > 0 && !c.events[0].at.After(now) {
		e := c.events[0]
		c.events = c.events[1:]
		c.field = slices.DeleteFunc(c.field, func(x *Card) bool { return x == e.card })
		e.card.powerOff()
		if e.place {
			e.card.answers, e.card.gone = 0, false
			c.field = append(c.field, e.card)
		}
	}
}

func (c *Chip) read(a byte) byte {
	switch a {
	case rFIFOData:
		if len(c.fifo) == 0 {
			return 0
		}
		v := c.fifo[0]
		c.fifo = c.fifo[1:]
		return v
	case rFIFOLevel:
		return byte(len(c.fifo))
	case rVersion:
		return c.version
	case rCommand:
		v := c.regs[rCommand] &^ 0x10
		if c.asleep() {
			v |= 0x10
		}
		return v
	}
	return c.regs[a]
}

func (c *Chip) write(a, v byte) {
	switch a {
	case rCommand:
		c.command(v)
	case rComIrq, rDivIrq:
		if v&0x80 != 0 {
			c.regs[a] |= v & 0x7F
		} else {
			c.regs[a] &^= v & 0x7F
		}
	case rFIFOLevel:
		if v&0x80 != 0 {
			c.fifo = nil
			c.regs[rError] &^= 0x10
		}
	case rFIFOData:
		if len(c.fifo) >= 64 {
			c.regs[rError] |= 0x10
			return
		}
		c.fifo = append(c.fifo, v)
	case rBitFraming:
		c.regs[a] = v &^ 0x80
		if v&0x80 != 0 && c.regs[rCommand]&0x0F == 0x0C && !c.asleep() {
			c.startFrame(false)
		}
	case rTxControl:
		c.regs[a] = v
		if !c.antennaOn() {
			for _, card := range c.field {
				card.powerOff()
			}
		}
	case rError, rVersion, 0x07, 0x08: // read-only
	default:
		c.regs[a] = v
	}
	c.updateIRQ()
}

func (c *Chip) command(v byte) {
	if v&0x10 != 0 {
		// Soft power-down (datasheet 8.6.2): registers are kept, the
		// running command stops.
		c.powerDown = true
		c.wakeAt = forever
		c.pending = nil
		c.regs[rCommand] = v & 0x2F
		return
	}
	if c.asleep() {
		// Waking up takes the oscillator start time.
		c.wakeAt = c.Clock.Now().Add(oscStart)
	}
	c.regs[rCommand] = v & 0x2F
	switch v & 0x0F {
	case 0x00: // Idle: stops the running command, IdleIRq not set.
		c.pending = nil
	case 0x01: // Mem: 25 bytes FIFO -> internal buffer, or back if the FIFO holds fewer.
		if len(c.fifo) >= 25 {
			copy(c.mem[:], c.fifo[:25])
			c.fifo = c.fifo[25:]
		} else {
			c.fifo = append(c.fifo, c.mem[:]...)
		}
		c.endCommand()
	case 0x03: // CalcCRC over the FIFO with ModeReg's preset; stays active.
		preset := []uint16{0x0000, 0x6363, 0xA671, 0xFFFF}[c.regs[rMode]&0x03]
		crc := crc16(preset, c.fifo)
		c.fifo = nil
		c.regs[rCRCResultHi], c.regs[rCRCResultLo] = byte(crc>>8), byte(crc)
		c.regs[rDivIrq] |= 0x04
	case 0x04: // Transmit: sends the FIFO at once, then goes Idle.
		c.startFrame(true)
	case 0x0C: // Transceive: waits for StartSend.
		c.pending = nil
	case 0x0F: // SoftReset
		cards := c.field
		c.resetRegs()
		c.field = cards
		c.powerDown = true
		c.wakeAt = c.Clock.Now().Add(oscStart)
	}
}

// asleep reports soft or hard power-down, or an oscillator still starting.
func (c *Chip) asleep() bool { return c.powerDown && c.Clock.Now().Before(c.wakeAt) }

func (c *Chip) endCommand() {
	c.regs[rCommand] &^= 0x0F
	c.regs[rComIrq] |= 0x10
}

// startFrame sends the FIFO to the cards in the field; with transmit
// (the Transmit command) their answers are not received.
func (c *Chip) startFrame(transmit bool) {
	data := c.fifo
	c.fifo = nil
	c.regs[rError] &= 0x50 // TempErr and BufferOvfl persist
	last := int(c.regs[rBitFraming] & 0x07)
	bits := len(data) * 9
	if last != 0 && len(data) > 0 {
		bits = (len(data)-1)*9 + last
	}
	txEnd := c.Clock.Now().Add(time.Duration(bits+2) * etu)
	short := last == 7 && len(data) == 1
	var answers [][]byte
	garbled := false
	if c.antennaOn() {
		for _, card := range c.field {
			if card.gone {
				continue
			}
			faulty := (card.Fault == Vanish || card.Fault == Garble) && card.answers >= card.FaultAfter
			if faulty && card.Fault == Vanish {
				card.gone = true
				card.powerOff()
				continue
			}
			a := card.handle(data, short)
			if a == nil {
				continue
			}
			card.answers++
			if faulty {
				card.gone = true
				card.powerOff()
				a = a[:len(a)/2]
				garbled = true
			}
			answers = append(answers, a)
		}
	}
	res := &frameResult{transmit: transmit}
	switch {
	case transmit:
		res.doneAt = txEnd
	case len(answers) == 0:
		tmode := c.regs[rTMode]
		if tmode&0x80 == 0 {
			res.never = true
			break
		}
		presc := int(tmode&0x0F)<<8 | int(c.regs[rTPrescaler])
		reload := int(c.regs[rTReloadHi])<<8 | int(c.regs[rTReloadLo])
		period := time.Duration(float64(reload+1) * float64(2*presc+1) / 13.56e6 * float64(time.Second))
		res.timer, res.doneAt = true, txEnd.Add(period)
	default:
		res.data = answers[0]
		for _, a := range answers[1:] {
			if !slices.Equal(a, res.data) {
				n := 0
				for n < len(a) && n < len(res.data) && a[n] == res.data[n] {
					n++
				}
				res.data = res.data[:n]
				res.errReg |= 0x08
				c.regs[rColl] = byte(n*8+1) & 0x1F
			}
		}
		if garbled {
			res.errReg |= 0x08
		}
		res.doneAt = txEnd.Add(frameDelay + time.Duration(len(res.data)*9+2)*etu)
	}
	c.pending = res
	if c.irq != nil && c.regs[rComIEn]&0x31 != 0 && !res.never {
		c.Clock.advanceTo(res.doneAt)
		c.complete(true)
	}
}

// complete finishes the pending frame if its time has come (or now).
func (c *Chip) complete(now bool) {
	p := c.pending
	if p == nil || p.never || (!now && c.Clock.Now().Before(p.doneAt)) {
		return
	}
	c.pending = nil
	c.regs[rComIrq] |= 0x40 // TxIRq
	switch {
	case p.transmit:
		c.endCommand()
	case p.timer:
		c.regs[rComIrq] |= 0x01
	default:
		c.fifo = append(c.fifo, p.data...)
		c.regs[rControl] = c.regs[rControl]&^0x07 | 0x10
		c.regs[rComIrq] |= 0x20
	}
	if p.errReg != 0 {
		c.regs[rError] |= p.errReg
		c.regs[rComIrq] |= 0x02
	}
	c.updateIRQ()
}

func (c *Chip) updateIRQ() {
	active := c.regs[rComIrq]&c.regs[rComIEn]&0x7F != 0 || c.regs[rDivIrq]&c.regs[rDivIEn]&0x14 != 0
	if active && !c.irqActive && c.irq != nil {
		select {
		case c.irq.EdgesChan <- gpio.Low:
		default:
		}
	}
	c.irqActive = active
}
