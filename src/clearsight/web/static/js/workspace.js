// The signed-in console: wires the top bar, channel tree, video wall, PTZ pad and snapshot dialog to the
// catalog poller, and takes it all down again on sign-out.

import { CatalogPoller } from './catalog.js';
import { VideoWall } from './grid.js';
import { PtzPad } from './ptz.js';
import { currentUser, msUntilExpiry } from './session.js';
import { SnapshotDialog } from './snapshot.js';
import { TopBar } from './topbar.js';
import { CHANNEL_DRAG_TYPE, ChannelTree } from './tree.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout fires at once for longer delays

export class Workspace {
  /** `onSignOut(notice, forgetWall)`: the user signed out (forget the wall), or the token expired (keep it). */
  constructor(root, { onSignOut }) {
    this.root = root;
    const user = currentUser() ?? { username: '', role: '' };
    this.snapshots = new SnapshotDialog(document.getElementById('snapshot-dialog'));
    this.ptz = new PtzPad(document.getElementById('control-pane'), { role: user.role });
    this.tree = new ChannelTree(document.getElementById('tree-pane'), {
      onActivate: (channel, device) => this.wall.playInSelected(channel, device),
    });
    this.wall = new VideoWall(document.getElementById('wall'), {
      lookup: (id) => this.tree.lookup(id),
      dragType: CHANNEL_DRAG_TYPE,
      onSelectionChange: (tile) => this.#selectionChanged(tile),
      onSnapshot: (tile) => this.snapshots.show(tile.channel),
      onTilesChange: () => this.#markPlaying(),
    });
    this.topbar = new TopBar(document.getElementById('topbar'), {
      user, layoutSwitch: this.wall.layoutSwitch(), onSignOut: () => onSignOut('', true),
    });
    this.firstCatalog = true;
    this.poller = new CatalogPoller({
      onUpdate: (catalog) => this.#catalogArrived(catalog),
      onError: (error) => this.tree.showError(error),
    });
    const expiresIn = Math.min(msUntilExpiry(), MAX_TIMEOUT_MS);
    this.expiryTimer = setTimeout(() => onSignOut('Your session has expired; sign in again.', false), expiresIn);
  }

  start() {
    this.root.hidden = false;
    this.poller.start();
  }

  stop() {
    clearTimeout(this.expiryTimer);
    this.poller.stop();
    this.wall.closeAll();
    this.topbar.stop();
    this.snapshots.close();
    this.root.hidden = true;
  }

  #catalogArrived(catalog) {
    this.tree.update(catalog);
    if (this.firstCatalog) {
      this.firstCatalog = false;
      this.wall.restore();
    }
    // Keep the PTZ pad's channel facts (PTZ type) current.
    const selected = this.wall.selected;
    if (selected?.channel) {
      const entry = this.tree.lookup(selected.channel.id);
      if (entry) this.ptz.setChannel(entry.channel);
    }
  }

  #selectionChanged(tile) {
    this.ptz.setChannel(tile.channel);
    this.#markPlaying();
  }

  #markPlaying() {
    if (!this.wall) return; // the wall is still being built
    const ids = this.wall.tiles.filter((t) => t.channel).map((t) => t.channel.id);
    this.tree.setPlaying(ids, this.wall.selected?.channel?.id ?? null);
  }
}
