// The agent's long-poll (R24), resumed from its cursor after any network
// error, so no event is lost or shown twice; it is also presence (R5a).

import { api, ApiError } from './api.js';

export class EventPoll {
  // onEvents(events) is awaited before the next poll; onState('online' |
  // 'reconnecting'); onFatal(err) for refusals a retry cannot mend.
  constructor(path, { onEvents, onState, onFatal }) {
    this.path = path;
    this.onEvents = onEvents;
    this.onState = onState;
    this.onFatal = onFatal;
    this.cursor = 0;
    this.running = false;
    this.controller = null;
    this.wake = null;
    // back online: retry now rather than at the end of the back-off
    window.addEventListener('online', () => this.wake && this.wake());
  }

  start(cursor) {
    this.cursor = cursor;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    if (this.controller) {
      this.controller.abort();
    }
  }

  async loop() {
    let backoff = 1000;
    while (this.running) {
      this.controller = new AbortController();
      try {
        const answer = await api('GET', `${this.path}?cursor=${this.cursor}`,
                                 undefined, { signal: this.controller.signal });
        this.onState('online');
        backoff = 1000;
        if (answer.events.length) {
          await this.onEvents(answer.events);
        }
        this.cursor = answer.cursor;
      } catch (err) {
        if (!this.running) {
          return;
        }
        if (err instanceof ApiError && err.status < 500 && err.code !== 'cursor_ahead') {
          this.running = false;
          this.onFatal(err);
          return;
        }
        if (err instanceof ApiError && err.code === 'cursor_ahead') {
          // the store was restored from before our cursor: start again
          this.cursor = 0;
        }
        this.onState('reconnecting');
        await new Promise((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, backoff);
        });
        this.wake = null;
        backoff = Math.min(backoff * 2, 10000);
      }
    }
  }
}
