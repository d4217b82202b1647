package mfrc522

// Register addresses, MFRC522 datasheet rev 3.9 section 9.2 (Table 20).
const (
	regCommand     = 0x01
	regComIEn      = 0x02
	regDivIEn      = 0x03
	regComIrq      = 0x04
	regDivIrq      = 0x05
	regError       = 0x06
	regStatus2     = 0x08
	regFIFOData    = 0x09
	regFIFOLevel   = 0x0A
	regControl     = 0x0C
	regBitFraming  = 0x0D
	regColl        = 0x0E
	regMode        = 0x11
	regTxControl   = 0x14
	regTxASK       = 0x15
	regCRCResultHi = 0x21
	regCRCResultLo = 0x22
	regRFCfg       = 0x26
	regTMode       = 0x2A
	regTPrescaler  = 0x2B
	regTReloadHi   = 0x2C
	regTReloadLo   = 0x2D
	regVersion     = 0x37
)

// PCD commands written to CommandReg bits 3..0 (datasheet 10.3, Table 149).
const (
	cmdIdle       = 0x00
	cmdMem        = 0x01
	cmdCalcCRC    = 0x03
	cmdTransmit   = 0x04
	cmdTransceive = 0x0C
	cmdSoftReset  = 0x0F

	commandPowerDown = 0x10 // CommandReg bit 4: soft power-down requested / still active
)

// ComIrqReg and ComIEnReg bits (datasheet 9.3.1.4 and 9.3.1.3).
const (
	irqSet1    = 0x80 // ComIrqReg: write 1 sets, 0 clears the marked bits
	irqInv     = 0x80 // ComIEnReg: IRQ pin inverted (active low)
	irqTx      = 0x40
	irqRx      = 0x20
	irqIdle    = 0x10
	irqHiAlert = 0x08
	irqLoAlert = 0x04
	irqErr     = 0x02
	irqTimer   = 0x01

	divIEnPushPull = 0x80 // DivIEnReg: IRQ pin is a CMOS output, not open drain
)

// ErrorReg bits (datasheet 9.3.1.7).
const (
	errWr       = 0x80
	errTemp     = 0x40
	errBufOvfl  = 0x10
	errColl     = 0x08
	errCRC      = 0x04
	errParity   = 0x02
	errProtocol = 0x01
)

// Other register bits.
const (
	fifoFlush      = 0x80 // FIFOLevelReg
	bitFramingSend = 0x80 // BitFramingReg StartSend
	txControlRF    = 0x03 // TxControlReg Tx2RFEn | Tx1RFEn: antenna drivers on
	txASK100       = 0x40 // TxASKReg Force100ASK
	// modeCRC6363 is ModeReg with TxWaitRF, PolMFin and CRCPreset=01 (0x6363,
	// the CRC_A preset of ISO/IEC 14443-3 Annex B).
	modeCRC6363 = 0x3D
	// tModeAuto is TModeReg TAuto: the timer starts at the end of every
	// transmission and stops at the 5th received bit, so it measures "no
	// answer" directly.
	tModeAuto = 0x80
	// tPrescaler 0x0A9 gives 13.56 MHz / (2*169+1) = 40 kHz: one tick is 25 µs.
	tPrescaler = 0x0A9
	timerTick  = 25_000 // ns per timer tick with tPrescaler
)

// ISO/IEC 14443-3 type A commands.
const (
	piccREQA      = 0x26 // 7-bit short frame
	piccWUPA      = 0x52 // 7-bit short frame
	piccHLTA      = 0x50
	nvbAnticoll   = 0x20 // NVB: 2 bytes sent, no UID bits known
	nvbSelect     = 0x70 // NVB: 7 bytes sent, full UID CLn + BCC
	cascadeTag    = 0x88
	sakCascadeBit = 0x04
)

// selCodes are the SEL bytes of cascade levels 1, 2 and 3.
var selCodes = [3]byte{0x93, 0x95, 0x97}
