// Mouse/touch orbit controls: drag changes yaw and pitch, the wheel changes the distance.
// Calls onChange(yaw, pitch, distance) whenever the view moves.

const PITCH_LIMIT = (89 * Math.PI) / 180;

export function attachOrbit(element, initial, onChange) {
  const view = { yaw: initial[0], pitch: initial[1], distance: initial[2] };
  let drag = null;

  element.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY };
    element.setPointerCapture(event.pointerId);
  });
  element.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    drag = { x: event.clientX, y: event.clientY };
    view.yaw -= dx * 0.01;
    view.pitch = Math.max(-PITCH_LIMIT, Math.min(PITCH_LIMIT, view.pitch + dy * 0.01));
    onChange(view.yaw, view.pitch, view.distance);
  });
  const stop = (event) => {
    drag = null;
    if (element.hasPointerCapture(event.pointerId)) element.releasePointerCapture(event.pointerId);
  };
  element.addEventListener('pointerup', stop);
  element.addEventListener('pointercancel', stop);
  element.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      view.distance = Math.max(1e-3, view.distance * Math.exp(event.deltaY * 0.001));
      onChange(view.yaw, view.pitch, view.distance);
    },
    { passive: false },
  );

  // The page calls this after a scene load resets the view.
  return (yaw, pitch, distance) => {
    Object.assign(view, { yaw, pitch, distance });
  };
}
