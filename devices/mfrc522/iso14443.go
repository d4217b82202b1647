package mfrc522

import (
	"context"
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// errNoAnswer is the chip timer expiring before any card answered; callers
// turn it into ErrNoCard (REQA/WUPA), ErrTimeout (later steps) or success
// (HLTA).
var errNoAnswer = errors.New("no answer")

// ReadUID makes one attempt to read a card: REQA (WUPA if
// Opts.WakeHalted), anticollision and select for cascade levels 1 to 3,
// then HLTA. It returns the UID, 4, 7 or 10 bytes, without cascade tags
// or BCC. Errors: ErrNoCard if no card answers; ErrTimeout if the card
// stops answering; ErrCollision, ErrParity, ErrProtocol, ErrCRC,
// ErrBufferOverflow, ErrTemperature from ErrorReg; ErrBCC; ErrFrame;
// ErrChipTimeout or a bus error if the chip misbehaves; ErrNotReady or
// ErrHalted. A card pulled mid-read is always an error, never a UID.
// ctx is checked between frames.
func (d *Dev) ReadUID(ctx context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil, ErrHalted
	}
	if !d.ready {
		return nil, ErrNotReady
	}
	return d.readUID(ctx)
}

func (d *Dev) readUID(ctx context.Context) ([]byte, error) {
	req, name := byte(piccREQA), "reqa"
	if d.opts.WakeHalted {
		req, name = piccWUPA, "wupa"
	}
	var buf [16]byte
	n, bits, err := d.transceive([]byte{req}, 7, 2, buf[:])
	if errors.Is(err, errNoAnswer) {
		return nil, ErrNoCard
	}
	if err != nil {
		return nil, fmt.Errorf("mfrc522: %s: %w", name, err)
	}
	if n != 2 || bits != 0 {
		return nil, fmt.Errorf("mfrc522: %s: atqa of %d bytes and %d bits: %w", name, n, bits, ErrFrame)
	}
	uid := make([]byte, 0, 10)
	for level := range 3 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cl, err := d.anticollision(level, buf[:])
		if err != nil {
			return nil, err
		}
		sak, err := d.selectLevel(level, cl, buf[:])
		if err != nil {
			return nil, err
		}
		if sak&sakCascadeBit == 0 {
			uid = append(uid, cl[:4]...)
			if err := d.haltCard(); err != nil {
				return nil, err
			}
			return uid, nil
		}
		if cl[0] != cascadeTag {
			return nil, fmt.Errorf("mfrc522: select cl%d: cascade bit without cascade tag: %w", level+1, ErrProtocol)
		}
		uid = append(uid, cl[1:4]...)
	}
	return nil, fmt.Errorf("mfrc522: select cl3: cascade bit set at the last level: %w", ErrProtocol)
}

// anticollision sends SEL NVB=0x20 and returns the 5 bytes CLn + BCC,
// BCC checked.
func (d *Dev) anticollision(level int, buf []byte) ([]byte, error) {
	n, bits, err := d.transceive([]byte{selCodes[level], nvbAnticoll}, 0, 5, buf)
	if err != nil {
		return nil, fmt.Errorf("mfrc522: anticollision cl%d: %w", level+1, cardErr(err))
	}
	if n != 5 || bits != 0 {
		return nil, fmt.Errorf("mfrc522: anticollision cl%d: %d bytes and %d bits: %w", level+1, n, bits, ErrFrame)
	}
	cl := make([]byte, 5)
	copy(cl, buf[:5])
	if cl[0]^cl[1]^cl[2]^cl[3] != cl[4] {
		return nil, fmt.Errorf("mfrc522: anticollision cl%d: %w", level+1, ErrBCC)
	}
	return cl, nil
}

// selectLevel sends SEL NVB=0x70 CLn BCC CRC_A and returns SAK, its CRC_A
// checked.
func (d *Dev) selectLevel(level int, cl, buf []byte) (byte, error) {
	f := make([]byte, 0, 9)
	f = append(f, selCodes[level], nvbSelect)
	f = append(f, cl...)
	f = appendCRCA(f)
	n, bits, err := d.transceive(f, 0, 3, buf)
	if err != nil {
		return 0, fmt.Errorf("mfrc522: select cl%d: %w", level+1, cardErr(err))
	}
	if n != 3 || bits != 0 {
		return 0, fmt.Errorf("mfrc522: select cl%d: sak of %d bytes and %d bits: %w", level+1, n, bits, ErrFrame)
	}
	if c := crcA(buf[:1]); c != [2]byte{buf[1], buf[2]} {
		return 0, fmt.Errorf("mfrc522: select cl%d: sak: %w", level+1, ErrCRC)
	}
	return buf[0], nil
}

// haltCard sends HLTA with the Transmit command: a card that took it stays
// silent (ISO 14443-3 6.4.4), so there is nothing to wait for but the end
// of the transmission, and the next frame (the next poll) comes long after
// the frame delay time.
func (d *Dev) haltCard() error {
	if err := d.startCommand(cmdTransmit, appendCRCA([]byte{piccHLTA, 0}), 0); err != nil {
		return fmt.Errorf("mfrc522: hlta: %w", err)
	}
	if _, err := d.waitDone(irqIdle|irqTx, frameTime(4, 0, 0)); err != nil {
		return fmt.Errorf("mfrc522: hlta: %w", err)
	}
	return nil
}

func cardErr(err error) error {
	if errors.Is(err, errNoAnswer) {
		return ErrTimeout
	}
	return err
}

// cardError is ErrorReg with at least one error bit set.
type cardError struct{ reg byte }

func (e *cardError) Error() string {
	return fmt.Sprintf("error register 0x%02x: %v", e.reg, errors.Join(e.sentinels()...))
}

func (e *cardError) Is(target error) bool {
	for _, s := range e.sentinels() {
		if s == target {
			return true
		}
	}
	return false
}

func (e *cardError) sentinels() []error {
	var s []error
	for _, b := range []struct {
		bit byte
		err error
	}{{errTemp, ErrTemperature}, {errBufOvfl, ErrBufferOverflow}, {errColl, ErrCollision},
		{errCRC, ErrCRC}, {errParity, ErrParity}, {errProtocol, ErrProtocol}} {
		if e.reg&b.bit != 0 {
			s = append(s, b.err)
		}
	}
	return s
}

// transceive sends f (the last byte holding txLastBits bits, 0 for all 8)
// with the Transceive command and copies the answer into out. It returns
// the answer's byte count and the valid bits of its last byte (0: all 8).
// Errors: errNoAnswer (chip timer expired), *cardError (ErrorReg), ErrFrame
// (answer longer than out), ErrChipTimeout, bus errors.
func (d *Dev) transceive(f []byte, txLastBits byte, expect int, out []byte) (int, byte, error) {
	if err := d.startCommand(cmdTransceive, f, txLastBits); err != nil {
		return 0, 0, err
	}
	irq, err := d.waitDone(irqRx|irqIdle|irqTimer, frameTime(len(f), txLastBits, expect))
	if err != nil {
		return 0, 0, err
	}
	if irq&(irqRx|irqIdle) == 0 {
		return 0, 0, errNoAnswer
	}
	var regs [3]byte
	if err := d.readRegs(regs[:], regError, regFIFOLevel, regControl); err != nil {
		return 0, 0, err
	}
	if e := regs[0] & (errTemp | errBufOvfl | errColl | errCRC | errParity | errProtocol); e != 0 {
		return 0, 0, &cardError{reg: regs[0]}
	}
	n := int(regs[1] & 0x7F)
	if n > len(out) {
		return 0, 0, fmt.Errorf("%d bytes in fifo: %w", n, ErrFrame)
	}
	if n > 0 {
		addrs := make([]byte, n)
		for i := range addrs {
			addrs[i] = regFIFOData
		}
		if err := d.readRegs(out, addrs...); err != nil {
			return 0, 0, err
		}
	}
	return n, regs[2] & 0x07, nil
}

// startCommand loads f into the FIFO and starts cmd (Transceive:
// StartSend with txLastBits valid bits in the last byte; Transmit starts
// on its own).
func (d *Dev) startCommand(cmd byte, f []byte, txLastBits byte) error {
	// Stopping the previous command first matters after a timeout: a
	// Transceive never ends on its own.
	for _, w := range [][2]byte{
		{regCommand, cmdIdle},
		{regComIrq, 0x7F}, // clear every IRQ bit
		{regFIFOLevel, fifoFlush},
	} {
		if err := d.writeReg(w[0], w[1]); err != nil {
			return err
		}
	}
	if err := d.writeFIFO(f); err != nil {
		return err
	}
	if err := d.writeReg(regCommand, cmd); err != nil {
		return err
	}
	if cmd != cmdTransceive {
		return nil
	}
	return d.writeReg(regBitFraming, bitFramingSend|txLastBits)
}

// waitDone waits until ComIrqReg has one of bits, by IRQ edge if the pin
// works, else by polling: after first, then every pollStep; bounded by
// the chip timer plus 20 ms (ErrChipTimeout).
func (d *Dev) waitDone(bits byte, first time.Duration) (byte, error) {
	bound := d.opts.TransceiveTimeout + 20e6
	deadline := d.opts.Now().Add(bound)
	if d.irqMode {
		// Bounded positive timeouts only: 0 and -1 mean different things to
		// the sysfs/cdev driver and to gpiotest.
		edgeWait := d.opts.TransceiveTimeout + 5e6
		for edges := 0; edges < 4; edges++ {
			if !d.irq.WaitForEdge(edgeWait) {
				break
			}
			v, err := d.readReg(regComIrq)
			if err != nil {
				return 0, err
			}
			if v&bits != 0 {
				d.irqMisses = 0
				return v, nil
			}
			// A stale edge from before this command: wait again.
		}
		v, err := d.pollDone(bits, deadline, 0)
		if err != nil {
			return 0, err
		}
		d.irqMisses++
		if d.irqMisses >= irqMissLimit {
			d.irqMode = false
			d.markIRQBad()
			d.opts.Logger.Warn("irq pin gives no edges, polling", "misses", d.irqMisses)
			_ = d.irq.In(gpio.PullUp, gpio.NoEdge)
		}
		return v, nil
	}
	return d.pollDone(bits, deadline, first)
}

func (d *Dev) pollDone(bits byte, deadline time.Time, first time.Duration) (byte, error) {
	if first > 0 {
		d.opts.Sleep(first)
	}
	for {
		v, err := d.readReg(regComIrq)
		if err != nil {
			return 0, err
		}
		if v&bits != 0 {
			return v, nil
		}
		if d.opts.Now().After(deadline) {
			return 0, fmt.Errorf("comirq 0x%02x: %w", v, ErrChipTimeout)
		}
		d.opts.Sleep(pollStep)
	}
}

// frameTime is when an answer of rxBytes to a frame of txBytes (the last
// one holding txLastBits bits, 0 for 8) is complete at 106 kbit/s: one
// bit is 128/fc = 9.44 µs, each byte carries a parity bit, frames have a
// start and an end bit, and the card answers after the frame delay time
// of 1236/fc = 91 µs (ISO 14443-3 6.2.1.1); plus 50 µs of slack. Polling
// ComIrqReg first at that time finds most answers complete at the first read.
func frameTime(txBytes int, txLastBits byte, rxBytes int) time.Duration {
	bits := txBytes * 9
	if txLastBits != 0 {
		bits = (txBytes-1)*9 + int(txLastBits)
	}
	bits += 2 + rxBytes*9 + 2
	return time.Duration(bits)*9440*time.Nanosecond + 91*time.Microsecond + 50*time.Microsecond
}

// crcA is the CRC_A of ISO/IEC 14443-3 Annex B: CRC-16/CCITT polynomial
// x^16+x^12+x^5+1 processed LSB first (0x8408 reflected), preset 0x6363,
// no final inversion. It returns the two bytes in transmission order
// (least significant first).
func crcA(data []byte) [2]byte {
	crc := uint16(0x6363)
	for _, b := range data {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return [2]byte{byte(crc), byte(crc >> 8)}
}

func appendCRCA(f []byte) []byte {
	c := crcA(f)
	return append(f, c[0], c[1])
}
