set terminal pngcairo noenhanced size 1100,460 font 'Sans,12'
set output 'paired-differences.png'
set title 'Paired A - B, final test error (95% CI)'
set xlabel 'A - B, final test error (percentage points; below 0: A better)'
set grid xtics
set key below center horizontal
set datafile missing 'NaN'
set xrange [-0.4370882024675721:0.7341602775706344]
set yrange [9.5:-0.5]
set ytics ('sgds - sgd' 0, 'sgd - adam' 1, 'sgd - adamw' 2, 'sgd - adams' 3, 'sgds - adam' 4, 'sgds - adamw' 5, 'sgds - adams' 6, 'adam - adamw' 7, 'adams - adam' 8, 'adams - adamw' 9)
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dashtype 2 linecolor rgb '#555555'
plot 'paired-differences.dat' index 0 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#d62728' title '95% CI excludes 0', \
     'paired-differences.dat' index 1 using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb '#1f77b4' title '95% CI contains 0'
set terminal svg noenhanced size 1100,460 dynamic font 'Sans,12'
set output 'paired-differences.svg'
replot
unset output
