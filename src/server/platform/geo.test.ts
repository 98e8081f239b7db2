import { describe, expect, it } from "vitest";
import { clientBlockOf, clientIp, PEER_ADDRESS_HEADER } from "~/server/platform/client-ip";
import { isPrivateAddress, locate } from "~/server/platform/geo";

describe("which addresses are not a place on the map", () => {
  const cases: [address: string, local: boolean][] = [
    ["127.0.0.1", true],
    ["127.255.255.254", true],
    ["0.0.0.0", true],
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["11.0.0.1", false],
    ["172.15.255.255", false],
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.32.0.1", false],
    ["192.168.1.20", true],
    ["192.169.0.1", false],
    ["169.254.169.254", true],
    ["169.255.0.1", false],
    ["100.63.255.255", false],
    ["100.64.0.1", true],
    ["100.127.255.255", true],
    ["100.128.0.1", false],
    ["8.8.8.8", false],
    ["81.2.69.142", false],
    ["::", true],
    ["::1", true],
    ["::2", false],
    ["fe80::1", true],
    ["FE80::1", true],
    ["fe80::1%eth0", true],
    ["fe90::1", true], // all of fe80::/10 is link-local, not only fe80:
    ["febf:ffff::1", true],
    ["fec0::1", true], // deprecated site-local
    ["ff02::1", false],
    ["fc00::1", true],
    ["fd12:3456::1", true],
    ["fbff::1", false],
    ["fc::1", false], // 00fc::1: the prefix "fc" is not fc00::/7
    ["fd::1", false],
    ["::ffff:10.0.0.1", true], // IPv4-mapped IPv6, as a dual-stack socket reports IPv4 peers
    ["::ffff:a00:1", true],
    ["::ffff:192.168.0.1", true],
    ["::ffff:8.8.8.8", false],
    ["2001:4860:4860::8888", false],
    ["2a00:1450:4009::1", false],
    ["not an address", false],
    ["", false],
  ];
  it.each(cases)("%s → %s", (address, local) => {
    expect(isPrivateAddress(address)).toBe(local);
  });

  it("locate() answers a repeated address from its cache, with the same place", async () => {
    const addresses = ["81.2.69.142", "2a00:1450:4009::1", "8.8.8.8", "10.0.0.1", "not an address"];
    const first = await Promise.all(addresses.map(locate));
    expect(first.map((p) => p.label)).toEqual([expect.any(String), expect.any(String), expect.any(String), "Local network", "Unknown location"]);
    const again = await Promise.all(addresses.map(locate));
    again.forEach((place, i) => expect(place).toBe(first[i]));
    // Far more addresses than the cache keeps: still the right place for each (it stays bounded).
    const many = Array.from({ length: 12_000 }, (_, i) => `81.${(i >> 8) & 255}.${i & 255}.7`);
    const labels = (await Promise.all(many.map(locate))).map((p) => p.label);
    expect((await locate(many[0]!)).label).toBe(labels[0]);
    expect((await locate("81.2.69.142")).label).toBe(first[0]!.label);
  });

  it("locate() calls them the local network", async () => {
    expect((await locate("fe90::1")).label).toBe("Local network");
    expect((await locate("::ffff:10.0.0.1")).label).toBe("Local network");
  });
});

describe("client address", () => {
  const peer = (address: string) => clientIp(new Headers({ [PEER_ADDRESS_HEADER]: address }), false);
  const forwarded = (address: string) => clientIp(new Headers({ "x-forwarded-for": `${address}, 10.0.0.2`, [PEER_ADDRESS_HEADER]: "10.0.0.2" }), true);
  it("an IPv4 client is one IPv4 address however IPv6 writes it", () => {
    expect(peer("::ffff:81.2.69.142")).toBe("81.2.69.142");
    expect(forwarded("::ffff:5102:458e")).toBe("81.2.69.142");
    expect(forwarded("[0:0:0:0:0:FFFF:5102:458E]")).toBe("81.2.69.142");
    expect(peer("::ffff:0:0")).toBe("0.0.0.0");
  });
  it("other addresses pass unchanged, and anything else is no address", () => {
    expect(peer("2a00:1450:4009::1")).toBe("2a00:1450:4009::1");
    expect(peer("fe80::1%eth0")).toBe("fe80::1%eth0");
    expect(peer("::ffff:1.2.3.4%eth0")).toBe("::ffff:1.2.3.4%eth0");
    expect(peer("81.2.69.142")).toBe("81.2.69.142");
    expect(peer("not-an-ip")).toBe("0.0.0.0");
    expect(forwarded("garbage")).toBe("10.0.0.2");
  });
  it("per-address limits count an IPv6 client by its /64, however it is written, and an IPv4 client by its address", () => {
    const block = "2001:db8:a:b::/64";
    for (const address of ["2001:db8:a:b::1", "2001:0DB8:000a:000b:ffff:ffff:ffff:ffff", "2001:db8:a:b:1:2:3:4", "2001:db8:a:b::"])
      expect(clientBlockOf(address)).toBe(block);
    expect(clientBlockOf("2001:db8:a:c::1")).toBe("2001:db8:a:c::/64");
    expect(clientBlockOf("::1")).toBe("0:0:0:0::/64");
    expect(clientBlockOf("::")).toBe("0:0:0:0::/64");
    expect(clientBlockOf("2001:db8:a:b::1.2.3.4")).toBe(block);
    expect(clientBlockOf("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientBlockOf("81.2.69.142")).toBe("81.2.69.142");
    expect(clientBlockOf(peer("::ffff:81.2.69.142"))).toBe("81.2.69.142");
  });
});
