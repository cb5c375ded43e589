// Sizes in binary units (KiB, MiB, GiB), as the server's messages and the drop zone say them.

export function binarySize(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  if (unit === 0) return bytes.toLocaleString("en") + " bytes";
  return value.toFixed(1).replace(/\.0$/, "") + " " + units[unit];
}
