package cec_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/cec"
)

// fakePATH makes PATH a fresh directory holding, when script is not "",
// an executable cec-client with that shell body; it returns the dir.
func fakePATH(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if script != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cec-client"), []byte("#!/bin/sh\n"+script), 0o755))
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/bin:/usr/bin")
	return dir
}

const listing = `No device type given. Using 'recording device'
Found devices: 1

device:              1
com port:            RPI
vendor id:           2708
product id:          1001
firmware version:    1
type:                Raspberry Pi
`

func TestDetectAbsent(t *testing.T) {
	fakePATH(t, "")
	_, err := cec.Detect(context.Background(), nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, cec.ErrNoBinary), "no cec-client on PATH: %v", err)
}

func TestDetectNoAdapter(t *testing.T) {
	fakePATH(t, `echo "Found devices: NONE"`)
	_, err := cec.Detect(context.Background(), nil)
	assert.True(t, errors.Is(err, cec.ErrNoAdapter), "cec-client without an adapter: %v", err)
}

func TestDetectListFails(t *testing.T) {
	fakePATH(t, `echo "boom" >&2; exit 3`)
	_, err := cec.Detect(context.Background(), nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, cec.ErrNoAdapter))
	assert.False(t, errors.Is(err, cec.ErrNoBinary))
}

func TestSwitch(t *testing.T) {
	dir := fakePATH(t, `if [ "$1" = "-l" ]; then cat <<'X'
`+listing+`X
exit 0; fi
echo "$*" >> "$(dirname "$0")/args"; cat >> "$(dirname "$0")/stdin"`)
	d, err := cec.Detect(context.Background(), &cec.Opts{Name: "tv1"})
	require.NoError(t, err)
	assert.Equal(t, cec.Adapter{Port: "RPI", Type: "Raspberry Pi"}, d.Adapter())
	require.NoError(t, d.On())
	require.NoError(t, d.Off())
	args, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	assert.Equal(t, "-s -d 1 RPI\n-s -d 1 RPI\n", string(args), "single command mode on the detected port")
	in, err := os.ReadFile(filepath.Join(dir, "stdin"))
	require.NoError(t, err)
	assert.Equal(t, "on 0\nstandby 0\n", string(in))
	assert.Equal(t, "ok", d.Health().Status)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "cec-client"), []byte("#!/bin/sh\necho 'could not open RPI'; exit 1\n"), 0o755))
	err = d.On()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could not open RPI")
	assert.Equal(t, "fault", d.Health().Status)
}

func TestParseList(t *testing.T) {
	assert.Empty(t, cec.ParseList([]byte("Found devices: NONE\n")))
	two := "com port: /dev/ttyACM0\ntype: Pulse-Eight USB-CEC Adapter\n\ncom port: RPI\n"
	assert.Equal(t, []cec.Adapter{{Port: "/dev/ttyACM0", Type: "Pulse-Eight USB-CEC Adapter"}, {Port: "RPI"}}, cec.ParseList([]byte(two)))
}
