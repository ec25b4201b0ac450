/** A card: a section named by its heading. */
import { type ReactNode, useId } from 'react'

interface CardProps {
  title: string
  /** classes besides `card` */
  className?: string
  children: ReactNode
}

export function Card({ title, className, children }: CardProps) {
  const id = useId()
  return (
    <section className={className ? `card ${className}` : 'card'} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  )
}
