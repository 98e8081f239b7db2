import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test as base, devices, type Browser, type BrowserContext, type Locator } from "@playwright/test";
import { chromiumLaunchOptions } from "../playwright.config";

// A "phone" whose camera films what we tell it to: Chromium's fake capture device fed with a
// video file. Launch flags are per browser, so the phone gets a browser of its own (one per
// worker); Chromium opens the file only when the page asks for the camera, so each test can
// write a new video just before scanning.

interface Phone {
  browser: Browser;
  cameraFile: string;
  newContext(): Promise<BrowserContext>;
  /** Films `qr` (a QR shown on another page): a few slightly tilted frames, which decode reliably. */
  pointCameraAt(qr: Locator): Promise<void>;
}

export const test = base.extend<object, { phone: Phone }>({
  phone: [
    async ({ playwright }, use, workerInfo) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `handoff-camera-${workerInfo.workerIndex}-`));
      const cameraFile = path.join(dir, "camera.y4m");
      const browser = await playwright.chromium.launch({
        ...chromiumLaunchOptions,
        args: [
          ...chromiumLaunchOptions.args,
          "--use-fake-ui-for-media-stream",
          "--use-fake-device-for-media-stream",
          `--use-file-for-fake-video-capture=${cameraFile}`,
        ],
      });
      const baseURL = workerInfo.project.use.baseURL;
      await use({
        browser,
        cameraFile,
        newContext: () => browser.newContext({ ...devices["Pixel 7"], baseURL, permissions: ["camera"] }),
        async pointCameraAt(qr) {
          const png = path.join(dir, "qr.png");
          await qr.screenshot({ path: png });
          const tilt = "if(eq(mod(n,4),0),-5,if(eq(mod(n,4),1),5,if(eq(mod(n,4),2),-10,10)))";
          execFileSync("ffmpeg", [
            "-y",
            "-loglevel",
            "error",
            "-framerate",
            "10",
            "-loop",
            "1",
            "-i",
            png,
            "-vf",
            `scale=-2:398:flags=area,pad=640:480:(ow-iw)/2:(oh-ih)/2:white,rotate='${tilt}*PI/180':fillcolor=white,format=yuv420p`,
            "-r",
            "10",
            "-frames:v",
            "4",
            cameraFile,
          ]);
        },
      });
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    { scope: "worker" },
  ],
});

export { expect } from "@playwright/test";
