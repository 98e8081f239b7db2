// Inline SVG (not emoji) so the icon renders the same on every system font.
const paths: Record<string, React.ReactNode> = {
  mobile: (
    <>
      <rect x="7" y="2.5" width="10" height="19" rx="2" />
      <path d="M11 18.5h2" />
    </>
  ),
  tablet: (
    <>
      <rect x="4.5" y="2.5" width="15" height="19" rx="2" />
      <path d="M11 18.5h2" />
    </>
  ),
  desktop: (
    <>
      <rect x="3" y="4" width="18" height="12" rx="1.5" />
      <path d="M1.5 19.5h21" />
    </>
  ),
  other: (
    <>
      <rect x="3" y="3.5" width="18" height="13" rx="1.5" />
      <path d="M8.5 20.5h7M12 16.5v4" />
    </>
  ),
};

export function DeviceIcon({ type, className }: { type: string; className?: string }) {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" aria-hidden className={className}>
      {paths[type] ?? paths.other}
    </svg>
  );
}
