// Plays the citizen's audio as it arrives: a small ring buffer, kept short so the clerk hears
// the citizen with little delay (older samples are dropped when the buffer runs long).
"use strict";

const CAPACITY = 48000; // 1 s at 48 kHz
const TARGET = 2880; // start after 60 ms buffered
const MAXIMUM = 9600; // more than 200 ms buffered: skip ahead

class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ring = new Float32Array(CAPACITY);
    this.read = 0;
    this.write = 0;
    this.started = false;
    this.port.onmessage = (event) => {
      for (const sample of event.data) {
        this.ring[this.write] = sample;
        this.write = (this.write + 1) % CAPACITY;
      }
      if (this.buffered() > MAXIMUM) this.read = (this.write - TARGET + CAPACITY) % CAPACITY;
    };
  }

  buffered() {
    return (this.write - this.read + CAPACITY) % CAPACITY;
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!this.started && this.buffered() >= TARGET) this.started = true;
    for (let i = 0; i < out.length; i++) {
      if (this.started && this.buffered() > 0) {
        out[i] = this.ring[this.read];
        this.read = (this.read + 1) % CAPACITY;
      } else {
        out[i] = 0;
        this.started = false;
      }
    }
    return true;
  }
}

registerProcessor("pcm-player", PcmPlayer);
